use super::*;
use crate::otel::SERVICE_VERSION;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The settings `config` and `vars` resolve to, which must be valid and turn OTLP on.
fn enabled(config: &OtlpConfig, vars: &BTreeMap<String, String>) -> Settings {
    resolve(config, vars).unwrap().expect("OTLP is on")
}

fn file(yaml: &str) -> OtlpConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

#[test]
fn off_by_default_and_on_with_an_endpoint() {
    assert!(resolve(&OtlpConfig::default(), &env(&[]))
        .unwrap()
        .is_none());
    let s = enabled(
        &OtlpConfig::default(),
        &env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]),
    );
    let m = s.metrics.unwrap();
    let t = s.traces.unwrap();
    assert_eq!(m.transport.endpoint, "http://collector:4318/v1/metrics");
    assert_eq!(t.transport.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(m.transport.protocol, Protocol::HttpProtobuf);
    assert_eq!(m.interval, Duration::from_secs(60));
    assert_eq!(t.transport.timeout, Duration::from_secs(10));
    assert_eq!(t.sampler, SamplerName::ParentbasedAlwaysOn);
    assert_eq!(
        (t.batch.max_queue_size, t.batch.max_export_batch_size),
        (2048, 512)
    );
    assert_eq!(t.batch.schedule_delay, Duration::from_secs(5));
    assert!(m.exemplars);
    assert_eq!(m.temporality, Temporality::Cumulative);
    // Logs are on with the other signals (OTEL_LOGS_EXPORTER defaults to otlp).
    let l = s.logs.unwrap();
    assert_eq!(l.transport.endpoint, "http://collector:4318/v1/logs");
    assert_eq!(
        (l.batch.max_queue_size, l.batch.max_export_batch_size),
        (2048, 512)
    );
    assert_eq!(l.batch.schedule_delay, Duration::from_secs(1));
    assert_eq!(l.batch.export_timeout, Duration::from_secs(10));
    // OTEL_SDK_DISABLED wins over the environment, not over the file.
    let disabled = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_SDK_DISABLED", "true"),
    ]);
    assert!(resolve(&OtlpConfig::default(), &disabled)
        .unwrap()
        .is_none());
    assert!(resolve(&file("enabled: true"), &disabled)
        .unwrap()
        .is_some());
    // `enabled: true` alone means the OpenTelemetry default endpoint.
    let s = enabled(&file("enabled: true\nprotocol: grpc"), &env(&[]));
    assert_eq!(
        s.traces.unwrap().transport.endpoint,
        "http://localhost:4317"
    );
}

#[test]
fn signal_variables_beat_generic_ones_and_the_file_beats_both() {
    let e = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1500"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,X-Tenant=t1"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=t2"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
    ]);
    let s = enabled(&OtlpConfig::default(), &e);
    let m = s.metrics.unwrap();
    let t = s.traces.unwrap();
    assert_eq!(m.transport.endpoint, "http://generic:4317");
    assert_eq!(t.transport.endpoint, "http://traces:4317");
    assert_eq!(m.transport.protocol, Protocol::Grpc);
    assert_eq!(m.transport.timeout, Duration::from_millis(1500));
    assert_eq!(t.transport.timeout, Duration::from_millis(2500));
    assert_eq!(m.interval, Duration::from_secs(1));
    assert_eq!(
        m.transport.headers,
        vec![
            ("api-key".into(), "a b".into()),
            ("x-tenant".into(), "t1".into())
        ]
    );
    assert_eq!(
        t.transport.headers,
        vec![
            ("api-key".into(), "a b".into()),
            ("x-tenant".into(), "t2".into())
        ]
    );
    assert_eq!(t.sampler, SamplerName::ParentbasedTraceidratio);
    assert_eq!(t.ratio, 0.25);
    assert_eq!(
        (t.batch.max_queue_size, t.batch.max_export_batch_size),
        (100, 10)
    );

    let f = file(
        r#"
endpoint: http://file:4318
protocol: http/protobuf
headers: {x-tenant: file}
traces:
  sampler: always_off
  endpoint: http://file-traces:9999/custom/path
metrics:
  interval_ms: 250
"#,
    );
    let s = enabled(&f, &e);
    let m = s.metrics.unwrap();
    let t = s.traces.unwrap();
    assert_eq!(m.transport.endpoint, "http://file:4318/v1/metrics");
    // The file's signal endpoint beats OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and is used as is.
    assert_eq!(t.transport.endpoint, "http://file-traces:9999/custom/path");
    assert_eq!(m.transport.protocol, Protocol::HttpProtobuf);
    assert_eq!(m.interval, Duration::from_millis(250));
    assert_eq!(t.sampler, SamplerName::AlwaysOff);
    assert!(t
        .transport
        .headers
        .contains(&("x-tenant".into(), "file".into())));
}

#[test]
fn signals_turn_off_one_by_one() {
    let e = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    let s = enabled(&OtlpConfig::default(), &e);
    assert!(s.traces.is_none());
    assert!(s.logs.is_some());
    // No traces, so no trace ids to attach.
    assert!(!s.metrics.unwrap().exemplars);
    let s = resolve(
        &file(
            "metrics: {enabled: false}
logs: {enabled: false}",
        ),
        &e,
    )
    .unwrap();
    assert!(s.is_none(), "every signal off means OTLP off");
    let mut e = e.clone();
    e.insert("OTEL_LOGS_EXPORTER".into(), "none".into());
    let s = enabled(&OtlpConfig::default(), &e);
    assert!(s.logs.is_none() && s.metrics.is_some());
    // The file beats the variable.
    let s = enabled(&file("logs: {enabled: true}"), &e);
    assert!(s.logs.is_some());
}

#[test]
fn every_problem_names_its_source() {
    let e = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_LOGS_EXPORTER", "console"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
        ("OTEL_BLRP_SCHEDULE_DELAY", "soon"),
    ]);
    let problems = resolve(&file("tls: {cert_file: /nonexistent/cert.pem}"), &e)
        .unwrap_err()
        .join("\n");
    for needle in [
        "OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol `http/json`",
        "OTEL_EXPORTER_OTLP_ENDPOINT: `collector:4318/v1/metrics` must start with http:// or https://",
        "OTEL_EXPORTER_OTLP_TIMEOUT: `ten` is not a whole number",
        "OTEL_EXPORTER_OTLP_HEADERS: `novalue` is not key=value",
        "OTEL_TRACES_SAMPLER: unsupported sampler `sometimes`",
        "OTEL_TRACES_SAMPLER_ARG: 1.5 is not a ratio",
        "OTEL_RESOURCE_ATTRIBUTES: bad percent-escape",
        "OTEL_METRICS_EXPORTER: unsupported exporter `prometheus`",
        "OTEL_LOGS_EXPORTER: unsupported exporter `console`",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: unknown temporality preference `sometimes`; expected cumulative, delta or lowmemory",
        "OTEL_BLRP_SCHEDULE_DELAY: `soon` is not a whole number",
        "cannot read the client certificate /nonexistent/cert.pem",
        "needs both cert_file and key_file",
    ] {
        assert!(problems.contains(needle), "missing {needle:?} in:\n{problems}");
    }
    let problems = resolve(
        &file(
            "traces: {max_queue_size: 10, max_export_batch_size: 20}\nheaders: {\"bad header\": x}",
        ),
        &env(&[]),
    )
    .unwrap_err()
    .join("\n");
    assert!(
        problems.contains(
            "otlp.traces.max_export_batch_size: must be between 1 and max_queue_size (10)"
        ),
        "{problems}"
    );
    assert!(
        problems.contains("`bad header` is not a valid header name"),
        "{problems}"
    );
    let problems = resolve(
        &file("logs: {max_queue_size: 0, schedule_delay_ms: 0}"),
        &env(&[]),
    )
    .unwrap_err()
    .join("\n");
    for needle in [
        "otlp.logs.max_queue_size: must be at least 1",
        "otlp.logs.max_export_batch_size: must be between 1 and max_queue_size (0)",
        "otlp.logs.schedule_delay_ms: must be at least 1",
    ] {
        assert!(
            problems.contains(needle),
            "missing {needle:?} in:\n{problems}"
        );
    }
}

#[test]
fn scheme_less_grpc_endpoints_follow_insecure() {
    let s = enabled(
        &file("endpoint: collector:4317\nprotocol: grpc\ntls: {insecure: true}"),
        &env(&[]),
    );
    assert_eq!(
        s.traces.unwrap().transport.endpoint,
        "http://collector:4317"
    );
    let s = enabled(
        &OtlpConfig::default(),
        &env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]),
    );
    assert_eq!(
        s.metrics.unwrap().transport.endpoint,
        "https://collector:4317"
    );
}

#[test]
fn resource_attributes_merge_with_service_facts() {
    let e = env(&[
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs,deployment.environment.name=prod,k8s.pod.name=p%2C1",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
    ]);
    let s = enabled(&OtlpConfig::default(), &e);
    let r: BTreeMap<_, _> = s.resource.iter().cloned().collect();
    assert_eq!(s.resource[0], ("service.name".into(), "from-attrs".into()));
    assert_eq!(r["deployment.environment.name"], "prod");
    assert_eq!(r["k8s.pod.name"], "p,1");
    assert_eq!(r["service.version"], SERVICE_VERSION);
    assert_eq!(r["service.instance.id"].len(), 36);
    let mut e2 = e.clone();
    e2.insert("OTEL_SERVICE_NAME".into(), "from-env".into());
    let s = enabled(&OtlpConfig::default(), &e2);
    assert_eq!(s.resource[0].1, "from-env");
    let s = enabled(
        &file("service_name: from-file\nresource_attributes: {deployment.environment.name: dev}"),
        &e2,
    );
    let r: BTreeMap<_, _> = s.resource.iter().cloned().collect();
    assert_eq!(s.resource[0].1, "from-file");
    assert_eq!(r["deployment.environment.name"], "dev");
}

#[test]
fn key_values_decode_like_w3c_baggage() {
    assert_eq!(
        parse_key_values(" a=1 , b = x%3Dy ,,").unwrap(),
        vec![("a".into(), "1".into()), ("b".into(), "x=y".into())]
    );
    assert!(parse_key_values("=v").is_err());
    assert!(parse_key_values("a=%F").is_err());
}

/// What `Config::parse` reports for an `otlp:` section: the path, then serde's message.
fn section_error(yaml: &str) -> String {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    serde_path_to_error::deserialize::<_, OtlpConfig>(value)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn the_sections_reject_what_derived_structs_rejected() {
    // Each section lists every key it accepts, shared ones first, and the error names the key.
    assert_eq!(
        section_error("traces: {interval_ms: 5}"),
        "traces.interval_ms: unknown field `interval_ms`, expected one of `enabled`, `endpoint`, \
         `protocol`, `headers`, `timeout_ms`, `compression`, `tls`, `sampler`, `sampler_arg`, \
         `always_sample_negative`, `max_queue_size`, `max_export_batch_size`, `schedule_delay_ms`"
    );
    assert_eq!(
        section_error("metrics: {sampler: always_on}"),
        "metrics.sampler: unknown field `sampler`, expected one of `enabled`, `endpoint`, \
         `protocol`, `headers`, `timeout_ms`, `compression`, `tls`, `interval_ms`, `exemplars`, \
         `temporality`"
    );
    assert_eq!(
        section_error("logs: {sampler: always_on}"),
        "logs.sampler: unknown field `sampler`, expected one of `enabled`, `endpoint`, \
         `protocol`, `headers`, `timeout_ms`, `compression`, `tls`, `max_queue_size`, \
         `max_export_batch_size`, `schedule_delay_ms`"
    );
    assert!(section_error("metrics: {temporality: sometimes}")
        .starts_with("metrics.temporality: unknown variant `sometimes`"));
    assert!(
        section_error("bogus: 1").starts_with(
            "bogus: unknown field `bogus`, expected one of `enabled`, `endpoint`, `protocol`, \
             `headers`, `timeout_ms`, `compression`, `tls`, `service_name`, \
             `resource_attributes`, `metrics`, `traces`, `logs`"
        ),
        "{}",
        section_error("bogus: 1")
    );
    // A bad value is reported at its full path, shared keys included.
    assert!(section_error("traces: {sampler: sometimes}")
        .starts_with("traces.sampler: unknown variant `sometimes`"));
    assert!(section_error("metrics: {tls: {bogus: 1}}")
        .starts_with("metrics.tls.bogus: unknown field `bogus`"));
    assert!(section_error("traces: 5").contains("expected struct TracesSignalConfig"));
    // `tls: ~` means "no TLS settings" in a signal's section, and is an error in `otlp:`.
    assert!(serde_yaml_ng::from_str::<OtlpConfig>("traces: {tls: ~}").is_ok());
    assert!(serde_yaml_ng::from_str::<OtlpConfig>("tls: ~")
        .unwrap_err()
        .to_string()
        .contains("expected struct TlsConfig"));
    // Every key lands in its field.
    let f = file(
        "enabled: true\nendpoint: http://a:1\nprotocol: grpc\nheaders: {h: v}\ntimeout_ms: 7\n\
         compression: gzip\ntls: {insecure: true}\nservice_name: s\nresource_attributes: {k: v}\n\
         metrics: {enabled: false, endpoint: http://m:1, interval_ms: 9, exemplars: false, temporality: delta}\n\
         logs: {enabled: false, endpoint: http://l:1, max_queue_size: 8, max_export_batch_size: 5, schedule_delay_ms: 7}\n\
         traces: {timeout_ms: 3, sampler: always_off, sampler_arg: 0.5, always_sample_negative: true, \
         max_queue_size: 4, max_export_batch_size: 2, schedule_delay_ms: 6}",
    );
    assert_eq!(f.all.enabled, Some(true));
    assert_eq!(f.all.endpoint.as_deref(), Some("http://a:1"));
    assert_eq!(f.all.protocol, Some(Protocol::Grpc));
    assert_eq!(f.all.headers.len(), 1);
    assert_eq!(f.all.timeout_ms, Some(7));
    assert_eq!(f.all.compression, Some(Compression::Gzip));
    assert_eq!(f.all.tls.as_ref().and_then(|t| t.insecure), Some(true));
    assert_eq!(f.service_name.as_deref(), Some("s"));
    assert_eq!(f.resource_attributes.len(), 1);
    assert_eq!(f.metrics.signal.enabled, Some(false));
    assert_eq!(f.metrics.signal.endpoint.as_deref(), Some("http://m:1"));
    assert_eq!(
        (f.metrics.interval_ms, f.metrics.exemplars),
        (Some(9), Some(false))
    );
    assert_eq!(f.metrics.temporality, Some(Temporality::Delta));
    assert_eq!(f.logs.signal.enabled, Some(false));
    assert_eq!(f.logs.signal.endpoint.as_deref(), Some("http://l:1"));
    assert_eq!(
        (
            f.logs.max_queue_size,
            f.logs.max_export_batch_size,
            f.logs.schedule_delay_ms
        ),
        (Some(8), Some(5), Some(7))
    );
    assert_eq!(f.traces.signal.timeout_ms, Some(3));
    assert_eq!(f.traces.sampler, Some(SamplerName::AlwaysOff));
    assert_eq!(f.traces.sampler_arg, Some(0.5));
    assert_eq!(f.traces.always_sample_negative, Some(true));
    assert_eq!(
        (
            f.traces.max_queue_size,
            f.traces.max_export_batch_size,
            f.traces.schedule_delay_ms
        ),
        (Some(4), Some(2), Some(6))
    );
}

#[test]
fn logs_follow_the_signal_precedence() {
    let e = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://logs:9999/custom",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=k,x-tenant=t1"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=logs"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "700"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "16"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "500"),
    ]);
    let s = enabled(&OtlpConfig::default(), &e);
    let l = s.logs.unwrap();
    let t = s.traces.unwrap();
    // The signal's variables beat the generic ones; its endpoint is used as is.
    assert_eq!(l.transport.endpoint, "http://logs:9999/custom");
    assert_eq!(l.transport.protocol, Protocol::HttpProtobuf);
    assert_eq!(l.transport.compression, Compression::Gzip);
    assert_eq!(
        l.transport.headers,
        vec![
            ("api-key".into(), "k".into()),
            ("x-tenant".into(), "logs".into())
        ]
    );
    // The request timeout is bounded by the processor's export timeout.
    assert_eq!(l.transport.timeout, Duration::from_millis(500));
    assert_eq!(l.batch.export_timeout, Duration::from_millis(500));
    assert_eq!(
        (l.batch.max_queue_size, l.batch.max_export_batch_size),
        (64, 16)
    );
    assert_eq!(l.batch.schedule_delay, Duration::from_millis(250));
    // The other signals keep the generic values.
    assert_eq!(t.transport.endpoint, "http://generic:4318");
    assert_eq!(t.transport.protocol, Protocol::Grpc);
    assert_eq!(t.transport.timeout, Duration::from_millis(2500));
    // The file beats the environment: `otlp.logs.*`, then `otlp.*`.
    let f = file(
        "endpoint: http://file:4318\nprotocol: http/protobuf\ntimeout_ms: 300\nlogs: {max_queue_size: 10, max_export_batch_size: 10}",
    );
    let mut e = e.clone();
    e.remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    let l = enabled(&f, &e).logs.unwrap();
    assert_eq!(l.transport.endpoint, "http://file:4318/v1/logs");
    assert_eq!(l.transport.protocol, Protocol::HttpProtobuf);
    assert_eq!(l.transport.timeout, Duration::from_millis(300));
    assert_eq!(l.batch.max_queue_size, 10);
    // A logs endpoint alone turns OTLP on.
    let only = env(&[(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "http://logs:4318/v1/logs",
    )]);
    assert!(enabled(&OtlpConfig::default(), &only).logs.is_some());
}

#[test]
fn temporality_preference_from_the_variable_or_the_file() {
    let base = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")];
    let with = |v: &str| {
        let mut e = env(&base);
        e.insert(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE".into(),
            v.into(),
        );
        e
    };
    let temporality =
        |f: &OtlpConfig, e: &BTreeMap<String, String>| enabled(f, e).metrics.unwrap().temporality;
    assert_eq!(
        temporality(&OtlpConfig::default(), &env(&base)),
        Temporality::Cumulative
    );
    // Case-insensitive, as the spec says.
    assert_eq!(
        temporality(&OtlpConfig::default(), &with("Delta")),
        Temporality::Delta
    );
    assert_eq!(
        temporality(&OtlpConfig::default(), &with("LOWMEMORY")),
        Temporality::Lowmemory
    );
    assert_eq!(
        temporality(&file("metrics: {temporality: cumulative}"), &with("delta")),
        Temporality::Cumulative
    );
}
