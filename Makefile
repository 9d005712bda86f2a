# The front door. `make pipeline` runs the whole pipeline on the embedded DuckDB default;
# `make test` runs every test. `make help` lists the rest.

VENV      ?= .venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
SCALE     ?= small
export EXCHANGE_LANDING_DIR ?= data/landing
export EXCHANGE_WAREHOUSE   ?= data/warehouse.duckdb
export EXCHANGE_GX_DOCS_DIR ?= data/gx_docs
# No network calls from dbt or its dependencies.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install pipeline simulate validate-landing load build score forecast evaluate report dagster dashboard screenshots browser bq-emulator bench-ingest test lint docs clean

# The descriptions name variables as $(NAME); help prints their values instead.
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		-v wh='$(EXCHANGE_WAREHOUSE)' -v ld='$(EXCHANGE_LANDING_DIR)' -v sc='$(SCALE)' \
		'{ gsub(/\$$\(EXCHANGE_WAREHOUSE\)/, wh, $$2); gsub(/\$$\(EXCHANGE_LANDING_DIR\)/, ld, $$2); \
		   gsub(/\$$\(SCALE\)/, sc, $$2); printf "  make %-10s %s\n", $$1, $$2 }'

install: $(VENV)/.installed  ## create .venv with the pinned dependencies

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q uv
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip install -q --python $(PY) -r requirements.lock -e '.[dev]'
	touch $@

# The pipeline is Dagster's daily_full_build job run in this process (orchestration/pipeline.py):
# a line per step and a summary. With DAGSTER_HOME set the run is recorded in that instance
# (make dagster shows it); without, in memory. `make build` is the fast dbt-only path.
pipeline: install  ## simulate an exchange, then load, build, test, score and forecast it through Dagster (SCALE=tiny|small|medium|large)
	$(MAKE) simulate
	@if [ -n "$$DAGSTER_HOME" ]; then $(PY) -m orchestration.instance --home "$$DAGSTER_HOME"; fi
	$(PY) -m orchestration.pipeline --job daily_full_build
	@# What dbt's warnings are (the simulator's planted cases), where marts, docs and dashboard are.
	@$(PY) scripts/pipeline_summary.py --warehouse $(EXCHANGE_WAREHOUSE) --landing $(EXCHANGE_LANDING_DIR)
	@echo "Try:"
	@echo "  $(PY) -c \"import duckdb; print(duckdb.connect('$(EXCHANGE_WAREHOUSE)', read_only=True).sql('select * from marts.fct_daily_exchange_kpis order by kpi_date desc limit 7'))\""

simulate: install  ## write a simulated landing directory
	$(PY) -m simulator --scale $(SCALE) --out $(EXCHANGE_LANDING_DIR)

# Great Expectations on the new landing files (ingestion/landing_expectations.py): a file
# that mostly breaks a contract rule is held under $(EXCHANGE_LANDING_DIR)/_held with its
# reasons (exit 3); Data Docs (HTML) for the data team in $(EXCHANGE_GX_DOCS_DIR). `make load`
# and the Dagster landing assets run it before every load.
validate-landing: install  ## hold landing files that fail their Great Expectations suites; Data Docs in data/gx_docs
	$(PY) -m ingestion.landing_expectations --landing $(EXCHANGE_LANDING_DIR) --warehouse $(EXCHANGE_WAREHOUSE)

# Held files (exit 3) are reported and the rest load; any other failure of the gate stops here.
load: install  ## the Great Expectations gate, then load new landing files into the raw schema
	@$(PY) -m ingestion.landing_expectations --landing $(EXCHANGE_LANDING_DIR) --warehouse $(EXCHANGE_WAREHOUSE) \
		|| { status=$$?; [ $$status -eq 3 ] || exit $$status; echo "held files above were not loaded"; }
	$(PY) -m ingestion.loaders --quiet --landing $(EXCHANGE_LANDING_DIR) --warehouse $(EXCHANGE_WAREHOUSE)

build: install  ## dbt build: seeds, models, snapshots and tests
	$(BIN)/dbt build

score: install  ## train the churn model and write marts.fct_churn_predictions
	$(PY) -m predictive score --warehouse $(EXCHANGE_WAREHOUSE)

forecast: install  ## forecast revenue (next 30 days, next month) and write marts.fct_revenue_forecast
	$(PY) -m predictive forecast --warehouse $(EXCHANGE_WAREHOUSE)

evaluate: install  ## print the churn model and anomaly detection evaluation report
	$(PY) -m predictive evaluate --warehouse $(EXCHANGE_WAREHOUSE) --landing $(EXCHANGE_LANDING_DIR)

# DATE=YYYY-MM-DD reports that day instead of the last one.
report: install  ## write the executive report (HTML) of the last day of $(EXCHANGE_WAREHOUSE) to data/reports (DATE=YYYY-MM-DD for another day)
	$(PY) -m orchestration.executive_report --warehouse $(EXCHANGE_WAREHOUSE) $(if $(DATE),--date $(DATE))

# PostgreSQL run storage when EXCHANGE_DAGSTER_POSTGRES_URL is set, SQLite otherwise (docs/deployment.md).
dagster: install  ## the Dagster UI and daemon on 127.0.0.1:3000 (assets, schedules, sensors, checks)
	$(PY) -m orchestration.instance --home data/dagster_home
	DAGSTER_HOME=$(CURDIR)/data/dagster_home env --default-signal=TERM,INT \
		$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

# The warehouse is checked before anything is installed.
dashboard:  ## the self-service dashboard on http://127.0.0.1:8501 over $(EXCHANGE_WAREHOUSE), read-only
	@test -f $(EXCHANGE_WAREHOUSE) || { echo "No warehouse at $(EXCHANGE_WAREHOUSE): run 'make pipeline' first (or set EXCHANGE_WAREHOUSE)."; exit 1; }
	@$(MAKE) --no-print-directory install
	env --default-signal=TERM,INT $(BIN)/streamlit run dashboard/app.py \
		--server.address 127.0.0.1 --server.port 8501 --server.headless true \
		--browser.gatherUsageStats false

screenshots: browser  ## one PNG per dashboard page in docs/images, from $(EXCHANGE_WAREHOUSE)
	@test -f $(EXCHANGE_WAREHOUSE) || { echo "No warehouse at $(EXCHANGE_WAREHOUSE): run 'make pipeline' first (or set EXCHANGE_WAREHOUSE)."; exit 1; }
	@$(MAKE) --no-print-directory install
	$(PY) -m dashboard.screenshots --warehouse $(EXCHANGE_WAREHOUSE) --out docs/images

# Debian's chromium and chromedriver for the dashboard's browser test and screenshots. Installs
# them when missing and apt-get may run (root, or sudo without a password); otherwise says so,
# and the browser test skips (it fails under CI=true).
browser:  ## install Debian's chromium and chromium-driver when missing (for the dashboard tests)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "make browser: chromium is missing and apt-get needs root; the dashboard browser test will be skipped."; exit 0; fi; \
	echo "make browser: installing Debian's chromium and chromium-driver"; \
	$$SUDO apt-get update -q && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver

# The BigQuery emulator in its own venv (it pins its own duckdb): docs/bigquery.md section 7.
# The test fixture installs it too; a failure here is reported and the fixture decides (fails
# under CI=true, skips otherwise).
# pyarrow: the emulator's Parquet load jobs hand the rows to its DuckDB as an Arrow table
# (scripts/bigquery_emulator_serve.py); an existing venv without it gets it here.
BQ_EMULATOR_PACKAGES := 'crucible-emulator[server]==0.1.0a2' 'pyarrow==26.0.1'
bq-emulator:  ## install the BigQuery emulator (crucible-emulator) into .venv-bq-emulator
	@.venv-bq-emulator/bin/python -c "import importlib.metadata as m; \
		assert (m.version('crucible-emulator'), m.version('pyarrow')) == ('0.1.0a2', '26.0.1')" 2>/dev/null || \
		{ { test -x .venv-bq-emulator/bin/python || python3 -m venv .venv-bq-emulator; } && \
		.venv-bq-emulator/bin/pip install -q $(BQ_EMULATOR_PACKAGES); } || \
		echo "make bq-emulator: could not install crucible-emulator; the BigQuery emulator tests will be skipped (they fail under CI=true)."

bench: install  ## time every stage at SCALE against its floor; writes data/bench/SCALE/result.json and .md
	$(PY) -m benchmarks --scale $(SCALE) --out data/bench/$(SCALE) --fresh $(BENCH_ARGS)

bench-ingest: install  ## simulator and loader throughput at SCALE, the loader against DuckDB's plain read
	rm -rf data/bench-ingest/$(SCALE)
	$(PY) -m simulator --scale $(SCALE) --out data/bench-ingest/$(SCALE)/landing 2>/dev/null
	mkdir -p data/bench-ingest/$(SCALE)/scratch
	$(PY) -m ingestion.loaders.benchmark data/bench-ingest/$(SCALE)/landing --scratch data/bench-ingest/$(SCALE)/scratch

test: install browser bq-emulator  ## run every test (pytest: simulator, loaders, dbt on the tiny scale, orchestration, dashboard in chromium)
	$(BIN)/pytest

# sqlfluff compiles the models on the profile's `lint` target, an in-memory DuckDB: no warehouse
# needed (docs/architecture.md, "Lint").
lint: install  ## ruff on the Python, sqlfluff on the models (CI runs it before the tests)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint models

docs: install  ## dbt docs (lineage, every model and metric) on 127.0.0.1:8080; builds the warehouse first if missing
	@# The catalog (column types, row counts) is read from the built warehouse.
	test -f $(EXCHANGE_WAREHOUSE) || $(MAKE) simulate load build
	$(PY) scripts/generate_metrics_dictionary.py
	$(PY) scripts/generate_landing_contract.py
	$(PY) scripts/generate_aml_rules.py
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve --host 127.0.0.1 --port 8080

clean:  ## remove generated data and dbt artifacts
	rm -rf data target logs
