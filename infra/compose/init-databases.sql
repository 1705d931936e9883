-- One database and one role per service; no service may connect to another's database.
-- (The local stack does the same in infra/postgres/roles.py: ensure_databases.)
CREATE ROLE catalog LOGIN PASSWORD 'catalog';
CREATE ROLE orders LOGIN PASSWORD 'orders';
CREATE ROLE payment LOGIN PASSWORD 'payment';
CREATE ROLE coordinator LOGIN PASSWORD 'coordinator';
CREATE ROLE gateway LOGIN PASSWORD 'gateway';
CREATE DATABASE catalog OWNER catalog;
CREATE DATABASE orders OWNER orders;
CREATE DATABASE payment OWNER payment;
CREATE DATABASE coordinator OWNER coordinator;
CREATE DATABASE gateway OWNER gateway;
REVOKE CONNECT ON DATABASE catalog, orders, payment, coordinator, gateway FROM PUBLIC;
GRANT CONNECT ON DATABASE catalog TO catalog;
GRANT CONNECT ON DATABASE orders TO orders;
GRANT CONNECT ON DATABASE payment TO payment;
GRANT CONNECT ON DATABASE coordinator TO coordinator;
GRANT CONNECT ON DATABASE gateway TO gateway;
