# One image for the four services (for compose.yaml; the local stack needs no Docker).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
ENV RV_HTTP_HOST=0.0.0.0
