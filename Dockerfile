# Production image: the API and the worker run from the same image with different commands.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir .

RUN useradd --system --uid 10001 scripe
USER scripe
EXPOSE 8000
CMD ["scripe-api", "serve", "--host", "0.0.0.0", "--port", "8000"]
