# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TWONETS_DATABASE_URL ?= sqlite:///./twonets.db
DEMO_DAYS ?= 7

.PHONY: run test bench install demo clean mosquitto broker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The MQTT tests and the sensing bench start their own Mosquitto from deploy/mosquitto.conf.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
mosquitto:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || \
		{ $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto; }

# The project's broker for `twonets sensing worker` (no per-session queue limit, persistent in var/mosquitto).
broker: $(STAMP) mosquitto
	$(BIN)/twonets sensing broker --port 1883 --data var/mosquitto

# Migrate, seed the demo district (once), serve the console, portal and API on :8000.
run: $(STAMP)
	$(BIN)/twonets db upgrade
	$(BIN)/twonets demo --days $(DEMO_DAYS) --if-empty
	$(BIN)/twonets serve --host 127.0.0.1 --port 8000

test: $(STAMP) mosquitto
	$(BIN)/python -m pytest

bench: $(STAMP) mosquitto
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) twonets.db twonets.db-wal twonets.db-shm
