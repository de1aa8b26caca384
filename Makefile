# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TWONETS_DATABASE_URL ?= sqlite:///./twonets.db
DEMO_DAYS ?= 7

.PHONY: run test bench install demo clean mosquitto broker web-assets browser i18n

VENDOR := src/twonets/web/static/vendor

$(STAMP): pyproject.toml package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@# `twonets backup|restore` of a PostgreSQL database run pg_dump / pg_restore
	command -v pg_dump >/dev/null 2>&1 || apt-get install -y -q postgresql-client || \
		echo "warning: pg_dump missing (apt-get install postgresql-client): PostgreSQL backups will not run"
	$(MAKE) --no-print-directory web-assets browser
	touch $(STAMP)

# Front-end libraries from npm at the versions in package-lock.json, copied where the app serves
# them (git-ignored): nothing is loaded from a CDN or fetched at run time.
web-assets:
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js \
	   node_modules/axe-core/axe.min.js $(VENDOR)/
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
	   node_modules/leaflet/dist/images $(VENDOR)/leaflet/

# Browser tests drive Debian's Chromium (never `playwright install`); a CJK font for the pages.
browser:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk) || \
	  echo "warning: could not install chromium and fonts-noto-cjk: the browser tests will be skipped"

install: $(STAMP)

# The one catalogue (src/twonets/locale, zh_CN and en): extract every marked message (Msg, tr, _, N_,
# ngettext; Python and the web templates) into messages.pot and merge it into each locale's .po;
# then translate the new entries (English ones read as their msgid) (tests/unit/core/test_catalogue.py fails on a missing one). The
# .po files are committed and compiled in memory at first use: there is no .mo to build.
i18n: $(STAMP)
	@# a source that does not parse (a merge conflict left in it) would make an incomplete template,
	@# and the update would then drop its translations: stop first
	$(BIN)/python -m compileall -q src/twonets >/dev/null
	$(BIN)/pybabel extract -F src/twonets/babel.cfg -k Msg -k N_ -k tr --no-location --sort-output \
		--project twonets -o src/twonets/locale/messages.pot src/twonets
	$(BIN)/pybabel update -i src/twonets/locale/messages.pot -d src/twonets/locale --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python tools/i18n_absorb.py --english

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
	rm -rf $(VENV) node_modules $(VENDOR) twonets.db twonets.db-wal twonets.db-shm var/keys  # the keys (and audit anchor) of that database
