# The stack's commands. `docker compose` is Compose v2; with the older standalone tool run
# e.g. `make up COMPOSE=docker-compose`. WEBHOOK_SECRET must be set in the shell or in .env
# (cp .env.example .env), because compose.yaml refuses to run without it.
COMPOSE ?= docker compose

.DEFAULT_GOAL := help
.PHONY: help up stop down logs test

help: ## list these targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z]+:.*## / { printf "  make %-5s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

up: ## build the image and start the stack in the background
	$(COMPOSE) up -d --build

stop: ## stop the stack; the data volume is kept
	$(COMPOSE) stop

down: ## stop and remove the stack, and delete the data volume
	$(COMPOSE) down -v

logs: ## follow the service's logs
	$(COMPOSE) logs -f api

test: ## install exactly the locked dependencies and run the README's test command
	npm ci && npm test
