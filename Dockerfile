# omniroute router. PostgreSQL and Redis are separate services (see docker-compose.yml).
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 omniroute
WORKDIR /app
COPY pyproject.toml README.md ./
COPY router ./router
COPY context_store ./context_store
COPY agent_desktop ./agent_desktop
COPY adapters ./adapters
RUN pip install --no-cache-dir .
USER omniroute
EXPOSE 8080 2525
ENV OMNIROUTE_DATA_DIR=/home/omniroute/data
CMD ["omniroute", "serve", "--host", "0.0.0.0", "--port", "8080", "--config", "/etc/omniroute/omniroute.toml"]
