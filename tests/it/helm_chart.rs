//! The Helm chart in helm/kafka-security-exporter, with the real `helm` (built from the Go module
//! proxy by scripts/tools.sh, cached in .cache/tools): `helm lint --strict`, `helm template` with
//! default values and with every switch on, and assertions on the rendered objects. Also: the
//! rendered PrometheusRule equals alerts/ with default values and follows the values otherwise,
//! and the Dockerfile's runtime installs every library the binary links. Every rendered object is
//! validated with `kubeconform -strict` against Kubernetes' own schemas (scripts/k8s-schemas.py)
//! for the oldest Kubernetes the chart supports and the newest release.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_yaml_ng::Value;

use crate::support::{check_config, repo_dir, temp_file};

const CHART: &str = "helm/kafka-security-exporter";
const KUBE_VERSION: &str = "1.30.0";

/// The cached helm binary; builds it on first use (a no-op when cached).
fn helm() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo_dir().join("scripts/tools.sh"))
            .arg("helm")
            .status()
            .expect("run scripts/tools.sh helm");
        assert!(status.success(), "scripts/tools.sh helm failed");
        repo_dir().join(".cache/tools/bin/helm")
    })
}

fn run_helm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(helm())
        .args(args)
        .current_dir(repo_dir())
        .output()
        .expect("run helm");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `helm template` with these extra arguments, as a list of objects.
fn render(extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "template",
        "ship",
        CHART,
        "--namespace",
        "security",
        "--kube-version",
        KUBE_VERSION,
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = run_helm(&args);
    assert!(ok, "helm {args:?} failed:\n{err}");
    out.split("\n---")
        .filter_map(|doc| serde_yaml_ng::from_str::<Value>(doc).ok())
        .filter(|v| v.is_mapping())
        .collect()
}

fn render_err(extra: &[&str]) -> String {
    let mut args = vec!["template", "ship", CHART, "--kube-version", KUBE_VERSION];
    args.extend_from_slice(extra);
    let (ok, _, err) = run_helm(&args);
    assert!(!ok, "helm {args:?} should have failed");
    err
}

const ALL_ON: &str = "helm/kafka-security-exporter/ci/all-on-values.yaml";

fn kinds(objs: &[Value]) -> BTreeSet<String> {
    objs.iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    let found = find(objs, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
    found[0]
}

/// The item called `name` of a list of named things (containers, volumes, mounts).
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_sequence()
        .unwrap()
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name:?} in {list:?}"))
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn helm_lint_strict_passes_with_default_and_all_on_values() {
    for extra in [vec![], vec!["-f", ALL_ON]] {
        let mut args = vec!["lint", "--strict", CHART, "--kube-version", KUBE_VERSION];
        args.extend_from_slice(&extra);
        let (ok, out, err) = run_helm(&args);
        assert!(ok, "helm lint --strict {extra:?} failed:\n{out}{err}");
        assert!(out.contains("0 chart(s) failed"), "{out}");
    }
}

#[test]
fn default_values_render_a_hardened_consumer_deployment_only() {
    let objs = render(&[]);
    assert_eq!(
        kinds(&objs),
        [
            "ConfigMap/ship-kafka-security-exporter-consumer",
            "Deployment/ship-kafka-security-exporter",
            "NetworkPolicy/ship-kafka-security-exporter",
            "Service/ship-kafka-security-exporter",
            "ServiceAccount/ship-kafka-security-exporter",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    // On by default: only the monitoring namespace's Prometheus reaches the metrics port.
    let np = one(&objs, "NetworkPolicy");
    assert_eq!(
        np["spec"]["ingress"],
        serde_yaml_ng::from_str::<Value>(
            "- ports: [{port: http-metrics, protocol: TCP}]\n  from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}\n      podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}\n"
        )
        .unwrap()
    );
    let d = one(&objs, "Deployment");
    assert_eq!(d["metadata"]["namespace"], s("security"));
    assert_eq!(d["spec"]["replicas"], Value::from(2));
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"],
        s("ghcr.io/kafka-security-exporter/kafka-security-exporter:0.1.0")
    );
    // Hardened: non-root, RuntimeDefault seccomp, read-only root, no escalation, no capabilities.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        s("RuntimeDefault")
    );
    assert_eq!(pod["automountServiceAccountToken"], Value::Bool(false));
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], Value::Bool(true));
    assert_eq!(sc["allowPrivilegeEscalation"], Value::Bool(false));
    assert_eq!(
        sc["capabilities"]["drop"],
        serde_yaml_ng::from_str::<Value>("[ALL]").unwrap()
    );
    // Probes on the exporter's endpoints, the port the Service targets.
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], s("/healthz"));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], s("/readyz"));
    assert_eq!(c["ports"][0]["name"], s("http-metrics"));
    assert_eq!(c["ports"][0]["containerPort"], Value::from(9976));
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["requests"]["cpu"].is_string());
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "run",
            "--config=/etc/kafka-security-exporter/config.yaml",
            "--web.listen-address=:9976",
            "--log.level=info",
            "--log.format=json"
        ]
    );
    // No Secret, so no password variable.
    assert!(c["env"].is_null(), "{:?}", c["env"]);
    // The Service selects every exporter pod of the release (consumers and tailers).
    let svc = one(&objs, "Service");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], s("http-metrics"));
    assert_eq!(
        svc["spec"]["selector"],
        serde_yaml_ng::from_str::<Value>(
            "{app.kubernetes.io/name: kafka-security-exporter, app.kubernetes.io/instance: ship}"
        )
        .unwrap()
    );
}

/// Where the chart mounts the pseudonym key's Secret (`privacy.enabled`).
const PRIVACY_DIR: &str = "/etc/kafka-security-exporter/privacy/";

/// `check-config` of a rendered config, with the Secrets the pod would have: the passwords as
/// environment variables and the pseudonym key (`key`, as in the values) as a file in place of
/// the Secret's mount.
fn check_rendered(config: &str, key: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pseudonym-key"), key).unwrap();
    let mounted = format!("{}/", dir.path().display());
    let config = config.replace(PRIVACY_DIR, &mounted);
    check_config(
        &config,
        &[
            ("KAFKA_PASSWORD", "from-the-secret"),
            ("KAFKA_OUTPUT_PASSWORD", "from-the-output-secret"),
        ],
    )
}

#[test]
fn the_rendered_exporter_configs_pass_check_config() {
    for extra in [vec![], vec!["-f", ALL_ON]] {
        let objs = render(&extra);
        for cm in find(&objs, "ConfigMap") {
            let Some(config) = cm["data"]["config.yaml"].as_str() else {
                continue;
            };
            // The key of the all-on values (at least 32 bytes, as check-config requires).
            let out = check_rendered(config, "dGVzdC1vbmx5LXRlc3Qtb25seS10ZXN0LW9ubHktdGVzdA==");
            let (ok, out) = (
                out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
            assert!(
                ok,
                "{} {extra:?}: check-config rejects the rendered config:\n{config}\n{out}",
                cm["metadata"]["name"].as_str().unwrap()
            );
        }
    }
}

#[test]
fn every_switch_on_renders_every_object() {
    let objs = render(&["-f", ALL_ON]);
    let k = kinds(&objs);
    for want in [
        "DaemonSet/ship-kafka-security-exporter-log-tail",
        "Deployment/ship-kafka-security-exporter",
        "ConfigMap/ship-kafka-security-exporter-consumer",
        "ConfigMap/ship-kafka-security-exporter-log-tail",
        "Secret/ship-kafka-security-exporter",
        "Secret/ship-kafka-security-exporter-web-config",
        "Secret/ship-kafka-security-exporter-privacy",
        "Secret/ship-kafka-security-exporter-output",
        "Service/ship-kafka-security-exporter",
        "ServiceMonitor/ship-kafka-security-exporter",
        "PrometheusRule/ship-kafka-security-exporter",
        "NetworkPolicy/ship-kafka-security-exporter",
        "PodDisruptionBudget/ship-kafka-security-exporter",
        "ConfigMap/ship-kafka-security-exporter-overview",
        "ConfigMap/ship-kafka-security-exporter-authentication",
        "ConfigMap/ship-kafka-security-exporter-authorization",
        "ConfigMap/ship-kafka-security-exporter-changes",
        "ConfigMap/ship-kafka-security-exporter-detections",
        "ConfigMap/ship-kafka-security-exporter-exporter-health",
    ] {
        assert!(k.contains(want), "{want} not rendered; got {k:#?}");
    }

    // Deployment: the Secret's password as $KAFKA_PASSWORD, its TLS keys mounted, extra env.
    let d = one(&objs, "Deployment");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(d["spec"]["replicas"], Value::from(3));
    assert_eq!(c["env"][0]["name"], s("KAFKA_PASSWORD"));
    assert_eq!(
        c["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        s("ship-kafka-security-exporter")
    );
    // Then the output cluster's password, from the chart's Secret of it.
    assert_eq!(c["env"][1]["name"], s("KAFKA_OUTPUT_PASSWORD"));
    assert_eq!(
        c["env"][1]["valueFrom"]["secretKeyRef"]["name"],
        s("ship-kafka-security-exporter-output")
    );
    assert_eq!(c["env"][2]["name"], s("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(
        mounts.contains(&"/etc/kafka-security-exporter/tls"),
        "{mounts:?}"
    );
    let secrets = find(&objs, "Secret");
    let secret = secrets
        .iter()
        .find(|o| o["metadata"]["name"] == "ship-kafka-security-exporter")
        .unwrap();
    for key in ["password", "ca.crt"] {
        assert!(secret["data"][key].is_string(), "Secret lacks {key}");
    }

    // DaemonSet: broker logs read-only from the host, checkpoints on the host, on broker nodes,
    // as the logs' user, still hardened.
    let ds = one(&objs, "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let logs = named(&c["volumeMounts"], "broker-logs");
    assert_eq!(logs["readOnly"], Value::Bool(true));
    assert_eq!(logs["mountPath"], s("/var/log/kafka"));
    let logs_vol = named(&pod["volumes"], "broker-logs");
    assert_eq!(logs_vol["hostPath"]["path"], s("/var/log/kafka"));
    let state_vol = named(&pod["volumes"], "state");
    assert_eq!(state_vol["hostPath"]["type"], s("DirectoryOrCreate"));
    // The checkpoint directory is given to the logs' user the values name.
    let init = named(&pod["initContainers"], "state-dir-owner");
    assert_eq!(
        init["command"],
        serde_yaml_ng::from_str::<Value>("[chown, '1000:1000', /var/lib/kafka-security-exporter]")
            .unwrap()
    );
    assert_eq!(pod["nodeSelector"]["node-role/kafka"], s("true"));
    assert_eq!(pod["securityContext"]["runAsUser"], Value::from(1000));
    assert_eq!(
        pod["securityContext"]["supplementalGroups"][0],
        Value::from(1001)
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true));
    assert_eq!(
        c["securityContext"]["readOnlyRootFilesystem"],
        Value::Bool(true)
    );
    // The two workloads select disjoint pods.
    assert_eq!(
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
        s("consumer")
    );
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
        s("log-tail")
    );

    // ServiceMonitor: job = chart name (what the alerts expect), the Prometheus selector label.
    let sm = one(&objs, "ServiceMonitor");
    assert_eq!(sm["spec"]["jobLabel"], s("app.kubernetes.io/name"));
    assert_eq!(sm["metadata"]["labels"]["release"], s("prometheus"));
    assert_eq!(sm["spec"]["endpoints"][0]["port"], s("http-metrics"));

    // Dashboards: one ConfigMap each, labelled for the Grafana sidecar, content = dashboards/.
    let mut dashboards = 0;
    for cm in find(&objs, "ConfigMap") {
        let data = cm["data"].as_mapping().unwrap();
        let Some((file, json)) = data
            .iter()
            .find(|(k, _)| k.as_str().unwrap().ends_with(".json"))
        else {
            continue;
        };
        dashboards += 1;
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], s("1"));
        assert_eq!(
            cm["metadata"]["annotations"]["grafana_folder"],
            s("Kafka Security")
        );
        let source =
            std::fs::read_to_string(repo_dir().join("dashboards").join(file.as_str().unwrap()))
                .unwrap();
        assert_eq!(
            json.as_str().unwrap(),
            source.trim_end_matches('\n'),
            "{file:?} differs from dashboards/"
        );
    }
    assert_eq!(dashboards, 6);

    // NetworkPolicy: only the metrics port in, from the monitoring namespace; egress limited.
    let np = one(&objs, "NetworkPolicy");
    assert_eq!(
        np["spec"]["ingress"][0]["ports"][0]["port"],
        s("http-metrics")
    );
    assert!(np["spec"]["ingress"][0]["from"].is_sequence());
    assert!(np["spec"]["policyTypes"]
        .as_sequence()
        .unwrap()
        .contains(&s("Egress")));
    let pdb = one(&objs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], Value::from(1));
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
        s("consumer")
    );
}

#[test]
fn an_existing_secret_is_used_and_none_rendered() {
    let objs = render(&[
        "--set",
        "kafkaAuth.existingSecret=kafka-creds",
        "--set",
        "kafkaAuth.tls.enabled=true",
        "--set",
        "kafkaAuth.passwordKey=sasl",
    ]);
    assert!(find(&objs, "Secret").is_empty());
    let pod = &one(&objs, "Deployment")["spec"]["template"]["spec"];
    let env = &pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"];
    assert_eq!(env["name"], s("kafka-creds"));
    assert_eq!(env["key"], s("sasl"));
    let tls = named(&pod["volumes"], "kafka-tls");
    assert_eq!(tls["secret"]["secretName"], s("kafka-creds"));
}

/// A values file in a temporary directory, for `helm template -f`.
fn values_file(yaml: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::io::Write::write_all(&mut f, yaml.as_bytes()).unwrap();
    f
}

/// `privacy:` and `output:` values become those sections of every exporter config, with the key
/// mounted from a Secret as a file and the output password from a Secret as an environment
/// variable (never in a ConfigMap); existing Secrets are referenced instead of rendered; the
/// configs pass check-config.
#[test]
fn privacy_and_output_values_render_into_every_config_with_secrets_by_reference() {
    const KEY: &str = "a-pseudonym-key-of-at-least-32-bytes!";
    const PASSWORD: &str = "output-password-never-in-a-configmap";
    let values = values_file(&format!(
        "logTail: {{enabled: true}}\n\
         privacy: {{enabled: true, keyId: k2, principals: true, addresses: false, key: '{KEY}'}}\n\
         output:\n  enabled: true\n  topic: security-events-ecs\n  schema: ecs\n  detections: false\n  \
         queueMaxEvents: 1000000\n  rawDataMaxBytes: 0\n  \
         properties: {{bootstrap.servers: 'logs-1:9092', security.protocol: SASL_PLAINTEXT, sasl.mechanism: SCRAM-SHA-256, sasl.username: kse}}\n  \
         auth: {{password: '{PASSWORD}', passwordKey: pw}}\n"
    ));
    let path = values.path().to_str().unwrap();
    let objs = render(&["-f", path]);
    // The two Secrets hold the key and the password.
    let secret = |name: &str| {
        find(&objs, "Secret")
            .into_iter()
            .find(|o| o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no Secret {name}"))
            .clone()
    };
    let b64 = |v: &Value| {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    let privacy = secret("ship-kafka-security-exporter-privacy");
    assert_eq!(b64(&privacy["data"]["pseudonym-key"]), KEY);
    let output = secret("ship-kafka-security-exporter-output");
    assert_eq!(b64(&output["data"]["pw"]), PASSWORD);

    let expected_config = |component: &str| -> Value {
        let sources = if component == "consumer" {
            "sources: [{kafka: {name: audit, group_id: kafka-security-exporter, topics: [{name: confluent-audit-log-events, format: confluent_audit}], properties: {bootstrap.servers: 'kafka:9092'}}}]"
        } else {
            "sources: [{file: {name: broker-logs, paths: [/var/log/kafka/*.log, /var/log/kafka/*.log.*], exclude: ['*.gz'], state_dir: /var/lib/kafka-security-exporter}}]"
        };
        serde_yaml_ng::from_str(&format!(
            "{sources}\n\
             privacy: {{pseudonymize: {{principals: true, addresses: false}}, key_file: /etc/kafka-security-exporter/privacy/pseudonym-key, key_id: k2}}\n\
             output: {{kafka: {{topic: security-events-ecs, schema: ecs, detections: false, queue_max_events: 1000000, raw_data_max_bytes: 0, properties: {{bootstrap.servers: 'logs-1:9092', security.protocol: SASL_PLAINTEXT, sasl.mechanism: SCRAM-SHA-256, sasl.username: kse, sasl.password: {{env: KAFKA_OUTPUT_PASSWORD}}}}}}}}\n"
        ))
        .unwrap()
    };
    for (component, kind) in [("consumer", "Deployment"), ("log-tail", "DaemonSet")] {
        let cm = find(&objs, "ConfigMap")
            .into_iter()
            .find(|o| o["metadata"]["name"] == format!("ship-kafka-security-exporter-{component}"))
            .unwrap();
        let text = cm["data"]["config.yaml"].as_str().unwrap();
        assert!(!text.contains(KEY) && !text.contains(PASSWORD), "{text}");
        let config: Value = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(config, expected_config(component), "{component}");
        let out = check_rendered(text, KEY);
        assert!(
            out.status.success(),
            "{component}: check-config rejects\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The pod mounts the key where the config reads it and gets the password by reference.
        let pod = &one(&objs, kind)["spec"]["template"]["spec"];
        let volume = named(&pod["volumes"], "privacy-key");
        assert_eq!(
            volume["secret"]["secretName"],
            s("ship-kafka-security-exporter-privacy")
        );
        assert_eq!(volume["secret"]["items"][0]["key"], s("pseudonym-key"));
        let container = &pod["containers"][0];
        let mount = named(&container["volumeMounts"], "privacy-key");
        assert_eq!(mount["mountPath"], s(PRIVACY_DIR.trim_end_matches('/')));
        assert_eq!(mount["readOnly"], Value::Bool(true));
        let env = named(&container["env"], "KAFKA_OUTPUT_PASSWORD");
        assert_eq!(
            env["valueFrom"]["secretKeyRef"]["name"],
            s("ship-kafka-security-exporter-output")
        );
        assert_eq!(env["valueFrom"]["secretKeyRef"]["key"], s("pw"));
    }

    // Existing Secrets: referenced, none rendered.
    let objs = render(&[
        "--set",
        "privacy.enabled=true",
        "--set",
        "privacy.keyId=k3",
        "--set",
        "privacy.existingSecret=pseudonym-keys",
        "--set",
        "privacy.secretKey=key-2026",
        "--set",
        "output.enabled=true",
        "--set",
        "output.auth.existingSecret=logs-cluster",
    ]);
    assert!(find(&objs, "Secret").is_empty());
    let pod = &one(&objs, "Deployment")["spec"]["template"]["spec"];
    let volume = named(&pod["volumes"], "privacy-key");
    assert_eq!(volume["secret"]["secretName"], s("pseudonym-keys"));
    assert_eq!(volume["secret"]["items"][0]["path"], s("key-2026"));
    let env = named(&pod["containers"][0]["env"], "KAFKA_OUTPUT_PASSWORD");
    assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], s("logs-cluster"));
    let config: Value = serde_yaml_ng::from_str(
        one(&objs, "ConfigMap")["data"]["config.yaml"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["privacy"]["key_file"],
        s("/etc/kafka-security-exporter/privacy/key-2026")
    );

    // Off (the default): neither section, no mount, no variable.
    let objs = render(&[]);
    let config: Value = serde_yaml_ng::from_str(
        one(&objs, "ConfigMap")["data"]["config.yaml"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(config.get("privacy").is_none() && config.get("output").is_none());
    let pod = &one(&objs, "Deployment")["spec"]["template"]["spec"];
    let volumes = pod["volumes"].as_sequence().unwrap();
    assert!(volumes.iter().all(|v| v["name"] != "privacy-key"));
}

#[test]
fn bad_privacy_and_output_values_are_refused_with_a_reason() {
    let privacy = ["--set", "privacy.enabled=true"];
    let err = render_err(&[privacy[0], privacy[1], "--set", "privacy.key=k"]);
    assert!(err.contains("privacy.enabled needs privacy.keyId"), "{err}");
    let err = render_err(&[privacy[0], privacy[1], "--set", "privacy.keyId=p1"]);
    assert!(err.contains("privacy.enabled needs the key"), "{err}");
    let err = render_err(&["--set", "privacy.keyId=Key_1"]);
    assert!(err.contains("keyId"), "{err}");
    let err = render_err(&[
        privacy[0],
        privacy[1],
        "--set",
        "privacy.keyId=p1",
        "--set",
        "privacy.key=x",
        "--set",
        "consumer.config.privacy.key_id=p2",
    ]);
    assert!(
        err.contains("consumer.config sets privacy: while privacy.enabled renders it"),
        "{err}"
    );
    let err = render_err(&[
        "--set",
        "output.enabled=true",
        "--set",
        "output.properties=null",
    ]);
    assert!(err.contains("output.properties.bootstrap.servers"), "{err}");
    let err = render_err(&[
        "--set",
        "output.enabled=true",
        "--set",
        "output.auth.password=pw",
        "--set",
        "output.properties.sasl\\.password=inline",
    ]);
    assert!(
        err.contains("output.properties sets sasl.password while output.auth gives the password"),
        "{err}"
    );
    assert!(render_err(&["--set", "output.schema=cef"]).contains("schema"));
    assert!(render_err(&["--set", "output.queueMaxEvents=0"]).contains("queueMaxEvents"));
    assert!(render_err(&["--set", "output.topic=two words"]).contains("topic"));
}

#[test]
fn bad_values_are_refused_with_a_reason() {
    assert!(render_err(&["--set", "consumer.replicaCount=-1"]).contains("replicaCount"));
    assert!(render_err(&["--set", "nope=1"]).contains("nope"));
    assert!(render_err(&["--set", "logFormat=xml"]).contains("logFormat"));
    assert!(
        render_err(&["--set", "prometheusRule.thresholds.authFailureRatio=2"])
            .contains("authFailureRatio")
    );
    assert!(render_err(&["--set", "kafkaAuth.tls.enabled=true"]).contains("caCert"));
    let err = render_err(&[
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "prometheusRule.disabledAlerts[0]=KafkaSecurityTypo",
    ]);
    assert!(err.contains("no rule named \"KafkaSecurityTypo\""), "{err}");
    let err = render_err(&[
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "prometheusRule.severity.KafkaSecurityTypo=critical",
    ]);
    assert!(err.contains("no rule named \"KafkaSecurityTypo\""), "{err}");
    assert!(render_err(&[
        "--set",
        "prometheusRule.severity.KafkaSecurityAclChanged=page"
    ])
    .contains("severity"));
}

/// The `spec` of the rendered PrometheusRule.
fn rendered_rules(extra: &[&str]) -> Value {
    let mut args = vec!["--set", "prometheusRule.enabled=true"];
    args.extend_from_slice(extra);
    let objs = render(&args);
    one(&objs, "PrometheusRule")["spec"].clone()
}

fn source_rules() -> Value {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo_dir().join("alerts/kafka-security.rules.yml")).unwrap(),
    )
    .unwrap()
}

fn rule<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .find(|r| r["alert"] == name || r["record"] == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

#[test]
fn with_default_values_the_prometheus_rule_is_exactly_alerts() {
    assert_eq!(
        rendered_rules(&[]),
        source_rules(),
        "the PrometheusRule differs from alerts/kafka-security.rules.yml"
    );
}

#[test]
fn values_set_thresholds_sensitive_resources_for_severities_labels_runbooks_and_dashboards() {
    let (dir, values) = temp_file(
        "values.yaml",
        r#"prometheusRule:
  exporterJob: kse-prod
  sensitiveResources: 'payroll\..*|pii-.*'
  thresholds:
    bruteForceFailures: 7
    authFailureRate: 2.5
    authFailureRatio: 0.25
    principalDenials: 100
    probedResources: 4
    slowBruteForce6h: 30
    slowBruteForce24h: 70
    failingClientHosts: 25
    consumerLag: 500000
    parseErrorRatio: 0.05
  for:
    KafkaSecurityBruteForce: 30s
  severity:
    KafkaSecurityNewAccessDetected: critical
    KafkaSecurityBruteForce: warning
  disabledAlerts: [KafkaSecurityOtlpExportFailing]
  alertLabels: {team: platform}
  runbookBaseUrl: https://wiki.example.com/kafka/runbook
  dashboardBaseUrl: https://grafana.example.com/
"#,
    );
    let spec = rendered_rules(&["-f", values.to_str().unwrap()]);
    let expr = |n: &str| rule(&spec, n)["expr"].as_str().unwrap().to_string();
    assert!(expr("KafkaSecurityBruteForce").ends_with("{client_host!=\"unknown\"} > 7"));
    assert!(
        expr("KafkaSecurityAuthenticationFailureSpike").contains("{outcome=\"failure\"} > 2.5\n")
    );
    assert!(expr("KafkaSecurityAuthenticationFailureSpike").ends_with(") > 0.25"));
    assert!(expr("KafkaSecurityPrincipalDenied").ends_with("> 100"));
    assert!(expr("KafkaSecurityPrivilegeProbing").ends_with(">= 4"));
    let slow = expr("KafkaSecuritySlowBruteForce");
    assert!(
        slow.contains("increase6h{client_host!=\"unknown\"} > 30\n"),
        "{slow}"
    );
    assert!(
        slow.ends_with("increase24h{client_host!=\"unknown\"} > 70"),
        "{slow}"
    );
    assert!(expr("KafkaSecurityManyFailingClientHosts").ends_with(">= 25"));
    assert!(expr("KafkaSecurityConsumerLagGrowing").contains("> 500000"));
    assert!(expr("KafkaSecurityParseErrors").ends_with("> 0.05"));
    let sensitive = expr("KafkaSecuritySensitiveResourceDenied");
    assert_eq!(
        sensitive
            .matches(r#"resource_name=~"payroll\\..*|pii-.*""#)
            .count(),
        3,
        "{sensitive}"
    );
    assert!(!sensitive.contains("__consumer_offsets"));
    assert_eq!(
        expr("KafkaSecurityExporterDown"),
        "up{job=\"kse-prod\"} == 0"
    );
    assert_eq!(
        expr("KafkaSecurityExporterAbsent"),
        "absent(up{job=\"kse-prod\"})"
    );
    let bf = rule(&spec, "KafkaSecurityBruteForce");
    assert_eq!(bf["for"], s("30s"));
    assert_eq!(bf["labels"]["team"], s("platform"));
    assert_eq!(bf["labels"]["severity"], s("warning"));
    assert_eq!(bf["labels"]["mitre_technique"], s("T1110.001"));
    assert_eq!(
        rule(&spec, "KafkaSecurityNewAccessDetected")["labels"]["severity"],
        s("critical")
    );
    assert_eq!(
        rule(&spec, "KafkaSecurityNewAccessDetected")["labels"]["mitre_tactic"],
        s("initial_access")
    );
    assert_eq!(
        rule(&spec, "KafkaSecurityAclChanged")["labels"]["severity"],
        s("warning"),
        "alerts without an override keep the file's severity"
    );
    // Every dashboard_url opens the configured Grafana; none still points at the file's default.
    let text = serde_yaml_ng::to_string(&spec).unwrap();
    assert!(!text.contains("localhost:3000"), "{text}");
    assert_eq!(
        bf["annotations"]["dashboard_url"],
        s("https://grafana.example.com/d/kse-authentication/kafka-security-authentication?var-cluster={{ $labels.cluster | urlquery }}&var-job={{ $labels.job | urlquery }}&var-client_host={{ $labels.client_host | urlquery }}")
    );
    assert_eq!(
        bf["annotations"]["runbook_url"],
        s("https://wiki.example.com/kafka/runbook#kafkasecuritybruteforce")
    );
    assert!(!serde_yaml_ng::to_string(&spec)
        .unwrap()
        .contains("KafkaSecurityOtlpExportFailing"));
    // Recording rules get no alert labels.
    assert!(rule(&spec, "job_source:kafka_security_events:rate5m")["labels"].is_null());

    // What Prometheus would load is valid.
    let file = dir.path().join("rendered.rules.yml");
    std::fs::write(&file, serde_yaml_ng::to_string(&spec).unwrap()).unwrap();
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("promtool (Debian package prometheus) is installed");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool rejects the rendered rules:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The runtime stage must install every shared library the binary needs (docker cannot run
/// here; this compares the binary's NEEDED entries with Debian's packages of the same release).
#[test]
fn the_dockerfile_runtime_installs_every_linked_library() {
    let dockerfile = std::fs::read_to_string(repo_dir().join("Dockerfile")).unwrap();
    let runtime = &dockerfile[dockerfile.find(" AS runtime").expect("a runtime stage")..];
    let install_line: String = runtime
        .lines()
        .skip_while(|l| !l.contains("apt-get install"))
        .take_while(|l| !l.contains("rm -rf"))
        .collect();
    let installed: BTreeSet<&str> = install_line
        .split_whitespace()
        .filter(|w| !w.starts_with('-') && !w.contains('&'))
        .collect();
    assert!(
        runtime.contains("USER 65532"),
        "the runtime runs as a non-root user"
    );

    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_kafka-security-exporter")])
        .output()
        .expect("readelf (binutils)");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(needed.iter().any(|l| l.starts_with("libc.so")), "{dynamic}");
    let mut missing = Vec::new();
    for lib in &needed {
        // The base image (debian-slim) has libc6 and libgcc-s1.
        if [
            "libc.so",
            "libm.so",
            "libgcc_s.so",
            "ld-linux",
            "libdl.so",
            "libpthread.so",
            "librt.so",
        ]
        .iter()
        .any(|b| lib.starts_with(b))
        {
            continue;
        }
        let path = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ldconfig -p | awk '/^\\t{lib} /{{print $NF; exit}}'"
            ))
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&path.stdout).trim().to_string();
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
        // By file name: with merged /usr, dpkg may know the file under /lib or /usr/lib.
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let owner = Command::new("dpkg")
            .arg("-S")
            .arg(format!("*/{name}"))
            .output()
            .unwrap();
        let owner = String::from_utf8_lossy(&owner.stdout);
        let pkg = owner.split(':').next().unwrap_or("").trim().to_string();
        if !installed.contains(pkg.as_str()) {
            missing.push(format!("{lib} ({pkg})"));
        }
    }
    assert!(
        missing.is_empty(),
        "the Dockerfile's runtime stage does not install: {missing:?} (installs {installed:?})"
    );
}

/// The web config: a Secret (rendered or existing) mounted as a directory (so updates reach the
/// pod) and passed with --web.config.file; probes over HTTPS, or TCP when client certificates
/// are required; the ServiceMonitor's scheme, tlsConfig and basicAuth.
#[test]
fn the_web_config_secret_is_mounted_passed_and_scraped_with_tls_and_basic_auth() {
    let hash = "$2y$10$testonlytestonlytestonlytestonlytestonlytestonlytesto";
    let user = format!("webConfig.config.basic_auth_users.prometheus={hash}");
    let objs = render(&[
        "--set",
        "webConfig.enabled=true",
        "--set",
        "webConfig.tls=true",
        "--set",
        "webConfig.config.tls_server_config.cert_file=tls.crt",
        "--set",
        "webConfig.config.tls_server_config.key_file=tls.key",
        "--set-string",
        &user,
        "--set",
        "webConfig.files.tls\\.crt=CERT",
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "serviceMonitor.basicAuth.username.name=scrape",
        "--set",
        "serviceMonitor.basicAuth.username.key=username",
        "--set",
        "serviceMonitor.tlsConfig.serverName=kse",
    ]);
    let secret = find(&objs, "Secret")
        .into_iter()
        .find(|o| o["metadata"]["name"] == "ship-kafka-security-exporter-web-config")
        .expect("the web config Secret");
    let decode = |key: &str| {
        use base64::Engine as _;
        let b64 = secret["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}"));
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    };
    let file: Value = serde_yaml_ng::from_str(&decode("web-config.yml")).unwrap();
    assert_eq!(file["basic_auth_users"]["prometheus"], s(hash));
    assert_eq!(file["tls_server_config"]["cert_file"], s("tls.crt"));
    assert_eq!(decode("tls.crt"), "CERT");

    let pod = &one(&objs, "Deployment")["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert!(c["args"].as_sequence().unwrap().contains(&s(
        "--web.config.file=/etc/kafka-security-exporter/web/web-config.yml"
    )));
    let mount = named(&c["volumeMounts"], "web-config");
    assert_eq!(mount["mountPath"], s("/etc/kafka-security-exporter/web"));
    assert!(
        mount.get("subPath").is_none(),
        "a subPath never sees Secret updates"
    );
    assert_eq!(
        named(&pod["volumes"], "web-config")["secret"]["secretName"],
        s("ship-kafka-security-exporter-web-config")
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(c[probe]["httpGet"]["scheme"], s("HTTPS"), "{probe}");
    }
    let endpoint = &one(&objs, "ServiceMonitor")["spec"]["endpoints"][0];
    assert_eq!(endpoint["scheme"], s("https"));
    assert_eq!(endpoint["tlsConfig"]["serverName"], s("kse"));
    assert_eq!(endpoint["basicAuth"]["username"]["key"], s("username"));

    // An existing Secret: none rendered; client certificates required: TCP probes.
    let objs = render(&[
        "--set",
        "webConfig.enabled=true",
        "--set",
        "webConfig.existingSecret=my-web",
        "--set",
        "webConfig.requireClientCert=true",
        "--set",
        "serviceMonitor.enabled=true",
    ]);
    assert!(find(&objs, "Secret").is_empty());
    let pod = &one(&objs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        named(&pod["volumes"], "web-config")["secret"]["secretName"],
        s("my-web")
    );
    let c = &pod["containers"][0];
    for probe in ["livenessProbe", "readinessProbe"] {
        assert!(c[probe].get("httpGet").is_none(), "{probe}");
        assert_eq!(c[probe]["tcpSocket"]["port"], s("http-metrics"), "{probe}");
    }
    assert_eq!(
        one(&objs, "ServiceMonitor")["spec"]["endpoints"][0]["scheme"],
        s("http")
    );

    // Without a file, or with TLS promised but not configured, the chart refuses.
    assert!(render_err(&["--set", "webConfig.enabled=true"])
        .contains("webConfig.enabled needs webConfig.config"));
    assert!(render_err(&[
        "--set",
        "webConfig.enabled=true",
        "--set",
        "webConfig.tls=true",
        "--set-string",
        &user,
    ])
    .contains("webConfig.tls is on but webConfig.config has no tls_server_config"));
    // A basic_auth_users value that is not a bcrypt hash (a plain password) fails the schema.
    assert!(render_err(&[
        "--set",
        "webConfig.enabled=true",
        "--set",
        "webConfig.config.basic_auth_users.prometheus=hunter2",
    ])
    .contains("basic_auth_users"));
}

/// The log-tail pods' `initContainers` with these values.
fn log_tail_init_containers(extra: &[&str]) -> Value {
    let mut args = vec!["--set", "logTail.enabled=true"];
    args.extend_from_slice(extra);
    let objs = render(&args);
    one(&objs, "DaemonSet")["spec"]["template"]["spec"]["initContainers"].clone()
}

#[test]
fn the_log_tail_state_dir_is_given_to_the_pods_user_by_a_chown_only_init_container() {
    // The kubelet creates a missing hostPath directory as root with mode 0755; the exporter runs
    // as 65532, so before it starts the directory must become its own, with least privilege.
    let objs = render(&["--set", "logTail.enabled=true"]);
    let pod = &one(&objs, "DaemonSet")["spec"]["template"]["spec"];
    let state = named(&pod["volumes"], "state");
    assert_eq!(
        state["hostPath"],
        serde_yaml_ng::from_str::<Value>(
            "{path: /var/lib/kafka-security-exporter, type: DirectoryOrCreate}"
        )
        .unwrap()
    );
    let inits = pod["initContainers"].as_sequence().unwrap();
    assert_eq!(inits.len(), 1, "{inits:?}");
    let init = &inits[0];
    assert_eq!(init["name"], s("state-dir-owner"));
    // The exporter's own image (its runtime has coreutils): no second image to trust.
    assert_eq!(init["image"], pod["containers"][0]["image"]);
    let expected: Value = serde_yaml_ng::from_str(
        "
command: [chown, '65532:65532', /var/lib/kafka-security-exporter]
securityContext:
  runAsUser: 0
  runAsGroup: 0
  runAsNonRoot: false
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities: {drop: [ALL], add: [CHOWN]}
volumeMounts:
  - {name: state, mountPath: /var/lib/kafka-security-exporter}
",
    )
    .unwrap();
    for key in ["command", "securityContext", "volumeMounts"] {
        assert_eq!(init[key], expected[key], "initContainers[0].{key}");
    }
    assert_eq!(init["resources"]["limits"]["memory"], s("32Mi"));
    // The exporter itself stays non-root with nothing added; the pod's seccomp profile applies
    // to the init container too.
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["capabilities"]["add"], Value::Null);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        s("RuntimeDefault")
    );
    assert_eq!(pod["securityContext"]["runAsUser"], Value::from(65532));

    // The owner follows the pod's user and group.
    let inits = log_tail_init_containers(&[
        "--set",
        "logTail.runAsUser=1000",
        "--set",
        "logTail.runAsGroup=2000",
        "--set",
        "logTail.stateHostPath=/data/kse",
    ]);
    assert_eq!(
        inits[0]["command"],
        serde_yaml_ng::from_str::<Value>("[chown, '1000:2000', /var/lib/kafka-security-exporter]")
            .unwrap()
    );
    // Not rendered when not needed: checkpoints in an emptyDir (fsGroup applies there), or a
    // node directory prepared already.
    assert_eq!(
        log_tail_init_containers(&["--set", "logTail.stateHostPath="]),
        Value::Null
    );
    assert_eq!(
        log_tail_init_containers(&["--set", "logTail.stateHostPathInit.enabled=false"]),
        Value::Null
    );
    let err = render_err(&["--set", "logTail.stateHostPathInit.enable=true"]);
    assert!(err.contains("enable"), "{err}");
}

#[test]
fn each_switch_alone_adds_exactly_its_objects() {
    let base = kinds(&render(&[]));
    let cases: [(&str, &[&str]); 6] = [
        (
            "serviceMonitor.enabled=true",
            &["ServiceMonitor/ship-kafka-security-exporter"],
        ),
        (
            "prometheusRule.enabled=true",
            &["PrometheusRule/ship-kafka-security-exporter"],
        ),
        (
            "podDisruptionBudget.enabled=true",
            &["PodDisruptionBudget/ship-kafka-security-exporter"],
        ),
        (
            "kafkaAuth.password=pw",
            &["Secret/ship-kafka-security-exporter"],
        ),
        (
            "logTail.enabled=true",
            &[
                "DaemonSet/ship-kafka-security-exporter-log-tail",
                "ConfigMap/ship-kafka-security-exporter-log-tail",
            ],
        ),
        (
            "dashboards.enabled=true",
            &[
                "ConfigMap/ship-kafka-security-exporter-overview",
                "ConfigMap/ship-kafka-security-exporter-authentication",
                "ConfigMap/ship-kafka-security-exporter-authorization",
                "ConfigMap/ship-kafka-security-exporter-changes",
                "ConfigMap/ship-kafka-security-exporter-detections",
                "ConfigMap/ship-kafka-security-exporter-exporter-health",
            ],
        ),
    ];
    for (switch, added) in cases {
        let got = kinds(&render(&["--set", switch]));
        let want: BTreeSet<String> = base
            .iter()
            .cloned()
            .chain(added.iter().map(|s| s.to_string()))
            .collect();
        assert_eq!(got, want, "--set {switch}");
    }
    // A log-tail-only install: no Deployment, so no PodDisruptionBudget either.
    let got = kinds(&render(&[
        "--set",
        "consumer.enabled=false",
        "--set",
        "logTail.enabled=true",
        "--set",
        "podDisruptionBudget.enabled=true",
    ]));
    assert_eq!(
        got,
        [
            "ConfigMap/ship-kafka-security-exporter-log-tail",
            "DaemonSet/ship-kafka-security-exporter-log-tail",
            "NetworkPolicy/ship-kafka-security-exporter",
            "Service/ship-kafka-security-exporter",
            "ServiceAccount/ship-kafka-security-exporter",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    // The NetworkPolicy is the one default object that can be switched off.
    let mut without = base.clone();
    assert!(without.remove("NetworkPolicy/ship-kafka-security-exporter"));
    assert_eq!(
        kinds(&render(&["--set", "networkPolicy.enabled=false"])),
        without
    );
    // Without egress rules the NetworkPolicy restricts ingress only.
    let np = render(&[]);
    assert_eq!(
        one(&np, "NetworkPolicy")["spec"]["policyTypes"],
        serde_yaml_ng::from_str::<Value>("[Ingress]").unwrap()
    );
}

/// kubeconform (built by scripts/tools.sh) and its schemas, one directory per Kubernetes version:
/// the oldest the chart supports and the newest release.
fn kubeconform() -> &'static (PathBuf, Vec<(String, PathBuf)>) {
    static KC: OnceLock<(PathBuf, Vec<(String, PathBuf)>)> = OnceLock::new();
    KC.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo_dir().join("scripts/tools.sh"))
            .args(["kubeconform", "k8s-schemas"])
            .status()
            .expect("run scripts/tools.sh kubeconform k8s-schemas");
        assert!(
            status.success(),
            "scripts/tools.sh kubeconform k8s-schemas failed"
        );
        let dir = repo_dir().join(".cache/tools/k8s-schemas");
        let mut versions: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| {
                let v = p.file_name().unwrap().to_str().unwrap();
                (v.trim_start_matches('v').to_string(), p)
            })
            .collect();
        versions.sort_by_key(|(v, _)| {
            v.split('.')
                .map(|n| n.parse::<u32>().unwrap())
                .collect::<Vec<_>>()
        });
        assert!(versions.len() >= 2, "schemas for {versions:?} only");
        (repo_dir().join(".cache/tools/bin/kubeconform"), versions)
    })
}

/// kubeconform -strict over these manifests: the summary and kubeconform's report.
fn kubeconform_check(
    manifests: &str,
    version: &str,
    schemas: &Path,
) -> (serde_json::Value, String) {
    use std::io::Write;
    let (bin, _) = kubeconform();
    let location = format!(
        "{}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        schemas.display()
    );
    let mut child = Command::new(bin)
        .args([
            "-strict",
            "-summary",
            "-output",
            "json",
            "-kubernetes-version",
            version,
        ])
        .args(["-schema-location", &location, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubeconform");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifests.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("kubeconform printed no JSON ({e}):\n{report}"));
    (parsed["summary"].clone(), report)
}

/// `helm template` output as text, for the given Kubernetes version.
fn render_text(version: &str, extra: &[&str]) -> String {
    let mut args = vec!["template", "ship", CHART, "--namespace", "security"];
    args.extend_from_slice(&["--kube-version", version]);
    args.extend_from_slice(extra);
    let (ok, out, err) = run_helm(&args);
    assert!(ok, "helm {args:?} failed:\n{err}");
    out
}

fn doc_count(manifests: &str) -> u64 {
    manifests
        .split("\n---")
        .filter_map(|doc| serde_yaml_ng::from_str::<Value>(doc).ok())
        .filter(|v| v.is_mapping())
        .count() as u64
}

/// Every object the chart renders, in every mode, is valid for the oldest Kubernetes the chart
/// supports and for the newest release, against Kubernetes' own schemas in strict mode (unknown
/// fields refused: a misspelt field the API server would silently drop fails here).
#[test]
fn rendered_objects_are_valid_kubernetes_objects_for_the_oldest_and_newest_release() {
    let (_, versions) = kubeconform();
    // The oldest schemas are those of the chart's kubeVersion floor.
    let chart = std::fs::read_to_string(repo_dir().join(CHART).join("Chart.yaml")).unwrap();
    let floor = chart
        .lines()
        .find_map(|l| l.strip_prefix("kubeVersion: \">="))
        .expect("Chart.yaml kubeVersion");
    let floor_minor: String = floor.split('.').take(2).collect::<Vec<_>>().join(".");
    assert!(
        versions[0].0.starts_with(&format!("{floor_minor}.")),
        "oldest schemas {} are not the chart's kubeVersion floor {floor}",
        versions[0].0
    );
    let modes: [&[&str]; 4] = [
        &[],
        &["-f", ALL_ON],
        &[
            "--set",
            "consumer.enabled=false",
            "--set",
            "logTail.enabled=true",
        ],
        &[
            "-f",
            ALL_ON,
            "--set",
            "kafkaAuth.existingSecret=kafka-creds",
            "--set",
            "networkPolicy.egress=null",
        ],
    ];
    for (version, schemas) in versions {
        for extra in modes {
            let manifests = render_text(version, extra);
            let n = doc_count(&manifests);
            assert!(n >= 4, "{extra:?}: only {n} objects");
            let (summary, report) = kubeconform_check(&manifests, version, schemas);
            assert_eq!(
                summary["valid"], n,
                "Kubernetes {version}, {extra:?}:\n{report}"
            );
            assert_eq!(summary["invalid"], 0, "{report}");
            assert_eq!(summary["errors"], 0, "{report}");
            assert_eq!(summary["skipped"], 0, "{report}");
        }
    }
}

/// The sidecar example, put into a minimal broker StatefulSet, is a valid pod template.
#[test]
fn the_sidecar_example_is_a_valid_pod_template() {
    let text =
        std::fs::read_to_string(repo_dir().join(CHART).join("examples/sidecar.yaml")).unwrap();
    let mut patch: Value = serde_yaml_ng::from_str(&text).unwrap();
    let labels: Value = serde_yaml_ng::from_str("{app: kafka}").unwrap();
    let template = &mut patch["spec"]["template"];
    template["metadata"] = serde_yaml_ng::from_str("{labels: {app: kafka}}").unwrap();
    let sts: Value = serde_yaml_ng::from_str(&format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: kafka}}\nspec:\n  \
         serviceName: kafka\n  selector: {{matchLabels: {}}}\n  template: {}\n",
        serde_json::to_string(&labels).unwrap(),
        serde_json::to_string(template).unwrap()
    ))
    .unwrap();
    let manifests = serde_yaml_ng::to_string(&sts).unwrap();
    let (_, versions) = kubeconform();
    for (version, schemas) in versions {
        let (summary, report) = kubeconform_check(&manifests, version, schemas);
        assert_eq!(
            summary["valid"], 1,
            "Kubernetes {version}:\n{report}\n{manifests}"
        );
    }
}

/// The check above can fail: a misspelt field, a wrong type and a wrong apiVersion are each
/// reported with their path.
#[test]
fn kubeconform_refuses_misspelt_fields_wrong_types_and_versions() {
    let (_, versions) = kubeconform();
    let (version, schemas) = versions.last().unwrap();
    let good = render_text(version, &["-f", ALL_ON]);
    let cases = [
        (
            "runAsNonRoot:",
            "runAsNonroot:",
            "'runAsNonroot' not allowed",
        ),
        ("replicas: 3", "replicas: three", "/spec/replicas"),
        (
            "apiVersion: policy/v1",
            "apiVersion: policy/v1beta1",
            "PodDisruptionBudget",
        ),
    ];
    for (from, to, want) in cases {
        assert!(good.contains(from), "the rendering has no {from:?}");
        let bad = good.replacen(from, to, 1);
        let (summary, report) = kubeconform_check(&bad, version, schemas);
        assert_ne!(
            summary["invalid"].as_u64().unwrap_or(0) + summary["errors"].as_u64().unwrap_or(0),
            0,
            "{to:?} passed:\n{report}"
        );
        assert!(report.contains(want), "{to:?}: {want:?} not in\n{report}");
    }
}
