# The commands contract §10 names. `docker compose` is Compose v2; with the older standalone tool run
# e.g. `make up COMPOSE=docker-compose`. WEBHOOK_SECRET must be set in the shell or in .env
# (cp .env.example .env), because compose.yaml refuses to run without it.
COMPOSE ?= docker compose

.PHONY: up down logs test

up:
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down -v

logs:
	$(COMPOSE) logs -f api

# The README's test command.
test:
	npm ci && npm test
