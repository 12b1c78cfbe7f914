# make demo   install into .venv, then run the whole study offline on the demo profile (scripts 0 to 4)
# make test   install into .venv, then run the test suite (what CI runs)
# make bench  install into .venv, then print speed and memory figures for the demo profile
PYTHON := .venv/bin/python
SCRIPTS := 0_preparando_dados.py 1_fine-tuning.py 2_calculando_baseline.py 3_avaliacao_customizada.py 4_analise_mmlu.py

.PHONY: install demo test bench clean-demo

install: .venv/installed

.venv/installed: requirements.txt
	python3 -m venv .venv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: install
	@for script in $(SCRIPTS); do \
		echo "== $$script"; \
		PROFILE=demo $(PYTHON) $$script || exit $$?; \
	done

test: install
	$(PYTHON) -m pytest -q tests

bench: install
	PROFILE=demo $(PYTHON) bench.py

clean-demo:
	rm -rf outputs/demo data/prepared/demo data/demo/spider/database
