"""The games the shop opens with. Seeding is idempotent: existing skus are left as they are."""

from __future__ import annotations

from catalog.domain.products import Product

# (sku, title, platform, release year, price in cents, units on hand at opening)
_SEED: tuple[tuple[str, str, str, int, int, int], ...] = (
    ("NES-SMB3", "Super Mario Bros. 3", "NES", 1988, 4999, 40),
    ("NES-ZELDA", "The Legend of Zelda", "NES", 1986, 5999, 35),
    ("NES-MEGAMAN2", "Mega Man 2", "NES", 1988, 4499, 30),
    ("NES-METROID", "Metroid", "NES", 1986, 3999, 25),
    ("NES-CONTRA", "Contra", "NES", 1988, 3499, 30),
    ("NES-PUNCHOUT", "Mike Tyson's Punch-Out!!", "NES", 1987, 2999, 20),
    ("SNES-SMW", "Super Mario World", "SNES", 1990, 4499, 50),
    ("SNES-ALTTP", "The Legend of Zelda: A Link to the Past", "SNES", 1991, 5499, 40),
    ("SNES-SMETROID", "Super Metroid", "SNES", 1994, 6999, 25),
    ("SNES-CHRONO", "Chrono Trigger", "SNES", 1995, 12999, 15),
    ("SNES-FF6", "Final Fantasy VI", "SNES", 1994, 8999, 20),
    ("SNES-DKC", "Donkey Kong Country", "SNES", 1994, 2999, 45),
    ("SNES-SF2T", "Street Fighter II Turbo", "SNES", 1993, 2499, 30),
    ("SNES-EARTHBOUND", "EarthBound", "SNES", 1994, 19999, 8),
    ("N64-SM64", "Super Mario 64", "Nintendo 64", 1996, 3999, 50),
    ("N64-OOT", "The Legend of Zelda: Ocarina of Time", "Nintendo 64", 1998, 4999, 40),
    ("N64-GOLDENEYE", "GoldenEye 007", "Nintendo 64", 1997, 2999, 35),
    ("N64-MK64", "Mario Kart 64", "Nintendo 64", 1996, 3499, 40),
    ("GB-TETRIS", "Tetris", "Game Boy", 1989, 1999, 60),
    ("GB-POKEMONRED", "Pokemon Red Version", "Game Boy", 1996, 5999, 30),
    ("GB-LINKSAWAKENING", "The Legend of Zelda: Link's Awakening", "Game Boy", 1993, 3999, 25),
    ("GEN-SONIC2", "Sonic the Hedgehog 2", "Mega Drive", 1992, 1999, 50),
    ("GEN-STREETSRAGE2", "Streets of Rage 2", "Mega Drive", 1992, 3999, 20),
    ("GEN-GUNSTAR", "Gunstar Heroes", "Mega Drive", 1993, 7999, 10),
    ("GEN-PHANTASY4", "Phantasy Star IV", "Mega Drive", 1993, 8999, 10),
    ("PS1-FF7", "Final Fantasy VII", "PlayStation", 1997, 3999, 40),
    ("PS1-MGS", "Metal Gear Solid", "PlayStation", 1998, 2999, 35),
    ("PS1-SOTN", "Castlevania: Symphony of the Night", "PlayStation", 1997, 7999, 12),
    ("PS1-CRASH", "Crash Bandicoot", "PlayStation", 1996, 1999, 45),
    ("PS1-GT2", "Gran Turismo 2", "PlayStation", 1999, 1499, 40),
    ("SAT-NIGHTS", "Nights into Dreams", "Saturn", 1996, 2999, 15),
    ("DC-SHENMUE", "Shenmue", "Dreamcast", 1999, 3499, 15),
    ("DC-JETSET", "Jet Set Radio", "Dreamcast", 2000, 4999, 12),
    ("ARC-PACMAN", "Pac-Man (Atari 2600)", "Atari 2600", 1982, 999, 60),
)


def seed_products() -> list[Product]:
    """A fresh copy of the opening catalogue."""
    return [Product(sku, title, platform, year, price, on_hand) for sku, title, platform, year, price, on_hand in _SEED]
