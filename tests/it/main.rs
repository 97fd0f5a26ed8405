//! The one integration-test binary (`cargo test --test it`): every module below was a test
//! binary of its own, each paying a link step. Shared harnesses live in `support/`.
//! Select a module with a filter: `cargo test --test it -- cli::`.

mod support;

mod alert_rules;
mod architecture;
mod broker_log_fixtures;
mod cli;
mod dashboards;
mod demo;
mod detect_memory;
mod detect_scenarios;
mod e2e_bench;
mod e2e_broker_logs;
mod e2e_broker_restart;
mod e2e_detections;
mod e2e_faults_kafka;
mod e2e_kafka;
mod e2e_otlp;
mod e2e_otlp_logs;
mod e2e_output_topic;
mod e2e_prometheus;
mod e2e_soak;
mod e2e_state;
mod faults_clock;
mod faults_files;
mod faults_kafka;
mod faults_otlp;
mod faults_process;
mod file_source;
mod helm_chart;
mod layouts;
mod output_topic;
mod parse_fixtures;
mod pasted_lines;
mod privacy;
mod readme;
mod replay_archive;
mod replay_parallel;
mod replay_vendors;
mod tail_props;
mod web_config;
