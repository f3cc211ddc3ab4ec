# questlog: a thin front for CMake. `make run` and `make test` install what is
# missing themselves (Debian packages, a Python venv for the test clients).

BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
# Seconds per fuzz target: `make fuzz` (each), and within `make test` (each, five targets).
FUZZ_SECONDS ?= 300
FUZZ_TEST_SECONDS ?= 12
VENV        ?= .venv
DELTA_VENV  ?= .venv-delta
ARGS        ?=
JOBS        ?= $(shell nproc)

.PHONY: all build run test unit asan integration bench format format-check deps-build deps-test venv clean \
        kafka kafka-stop hdfs hdfs-stop notebook fuzz fuzz-build fuzz-smoke deps-fuzz venv-delta

all: build

deps-build:
	@bash scripts/deps.sh build

deps-test:
	@bash scripts/deps.sh test

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps-build $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# The game API on the embedded log in ./data, on 127.0.0.1:5000 (the seed's port).
run: build
	./$(BUILD)/questlog serve $(ARGS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUESTLOG_SANITIZE=ON

asan: deps-test $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS) questlog_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(ASAN_BUILD)/questlog_tests --gtest_brief=1

unit: build
	./$(BUILD)/questlog_tests --gtest_brief=1

# libFuzzer targets under ASan and UBSan (fuzz/*_fuzz.cpp), built by clang in
# a directory of their own; scripts/fuzz.sh says what each is and keeps.
$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUESTLOG_FUZZ=ON

deps-fuzz:
	@bash scripts/deps.sh fuzz

fuzz-build: deps-fuzz $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

$(VENV)/.stamp: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

venv: deps-test $(VENV)/.stamp

# Spark with Delta Lake for tests/integration/test_delta_spark.py: no delta-spark
# release supports the test venv's pyspark, so it has a venv of its own (its jars
# come from Maven Central, scripts/delta-spark.sh).
$(DELTA_VENV)/.stamp: tests/requirements-delta.txt
	python3 -m venv $(DELTA_VENV)
	$(DELTA_VENV)/bin/pip install -q -r tests/requirements-delta.txt
	touch $@

venv-delta: deps-test $(DELTA_VENV)/.stamp

integration: build venv venv-delta
	$(VENV)/bin/pytest -q tests/integration

# A single-node Apache Kafka (KRaft, no ZooKeeper) on 127.0.0.1:9092, data in ./.kafka;
# it runs in the background until `make kafka-stop`.
KAFKA_DIR ?= .kafka
kafka: deps-test
	@bash scripts/kafka.sh start $(KAFKA_DIR) 1 9092 >/dev/null
	@echo "kafka: serving on 127.0.0.1:9092 (KRaft; data and logs in $(KAFKA_DIR); stop with make kafka-stop)"

kafka-stop:
	@bash scripts/kafka.sh stop $(KAFKA_DIR)

# A single-node HDFS (Hadoop's MiniDFSCluster: one namenode, one datanode) with the
# namenode on 127.0.0.1:8020 (RPC) and 127.0.0.1:9870 (HTTP, WebHDFS), data in ./.hdfs;
# it runs in the background until `make hdfs-stop`.
HDFS_DIR ?= .hdfs
hdfs: deps-test
	@bash scripts/hdfs.sh start $(HDFS_DIR) >/dev/null
	@echo "hdfs: serving on hdfs://127.0.0.1:$$(cut -d' ' -f1 $(HDFS_DIR)/ports) and webhdfs://127.0.0.1:$$(cut -d' ' -f2 $(HDFS_DIR)/ports) (data and logs in $(HDFS_DIR); scripts/hdfs.sh dfs -ls /tmp lists it; stop with make hdfs-stop)"

hdfs-stop:
	@bash scripts/hdfs.sh stop $(HDFS_DIR)

# JupyterLab (from the venv) on 127.0.0.1:NOTEBOOK_PORT with notebooks/seed_analysis.ipynb open;
# the token is new each time and only in the printed URL. It reads ./lake, or $$QUESTLOG_LAKE.
NOTEBOOK_PORT ?= 8888
notebook: venv
	@token=$$($(VENV)/bin/python -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "notebook: http://127.0.0.1:$(NOTEBOOK_PORT)/lab/tree/notebooks/seed_analysis.ipynb?token=$$token"; \
	JUPYTER_TOKEN=$$token exec $(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(NOTEBOOK_PORT) --ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR) \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/seed_analysis.ipynb

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'fuzz/*.cpp')

format-check: deps-test
	clang-format --dry-run -Werror $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'fuzz/*.cpp')

test: deps-test format-check unit asan fuzz-smoke integration

bench: build venv venv-delta
	bash bench/run.sh
	[ -z "$$QUESTLOG_BASELINE" ] || bash bench/instructions.sh build/questlog "$$QUESTLOG_BASELINE"
	bash bench/extract.sh
	bash bench/follow.sh
	bash bench/follow_live.sh
	bash bench/kafka.sh
	bash bench/hdfs.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
