FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY application application
COPY infrastructure infrastructure
COPY interfaces interfaces
COPY projections projections
RUN pip install --no-cache-dir .
EXPOSE 8000 5514/udp 5514/tcp
CMD ["decnet", "serve"]
