# Production image: no dev dependencies, non-root, several uvicorn workers.
# DATABASE_URL must point at the production PostgreSQL (the embedded server is for
# development only; it is installed as a dependency but never started when the URL is set).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8000 WORKERS=2
RUN useradd --create-home --uid 10001 trial
COPY --from=build /install /usr/local
WORKDIR /srv
COPY alembic.ini ./
COPY app ./app
USER trial
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os;urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port ${PORT} --workers ${WORKERS} --proxy-headers"]
