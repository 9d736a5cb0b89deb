# The omniroute router, for production: PostgreSQL and Redis are separate services (docker-compose.yml),
# so the image has neither the embedded servers nor the offline tools.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 omniroute
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY router ./router
COPY context_store ./context_store
COPY agent_desktop ./agent_desktop
COPY adapters ./adapters
RUN pip install --no-cache-dir .
USER omniroute
EXPOSE 8080 2525
ENV OMNIROUTE_DATA_DIR=/home/omniroute/data
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
CMD ["omniroute", "serve", "--host", "0.0.0.0", "--port", "8080", "--config", "/etc/omniroute/omniroute.toml"]
