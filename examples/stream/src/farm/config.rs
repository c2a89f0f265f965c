//! `FarmConfig`: roshi-server's Redis and farm flags, and the constructor
//! that turns them into a [`Farm`].

use std::sync::Arc;
use std::time::Duration;

pub use crate::flags::{go_flags, parse_go_duration};

use super::{Farm, FarmOptions, NoRepairHooks, Quorum, ReadStrategy, RepairHooks, RepairStrategy};
use crate::redis::{Cluster, ClusterConfig, ConfigError, Instances, Sharding};
use crate::store::StoreError;

/// roshi-server's Redis and farm flags, for a `clap` command to flatten
/// (`#[command(flatten)]`), with Roshi's names and defaults. Pass the
/// arguments through [`go_flags`] first to accept Go's single-dash form
/// (`-redis.instances`).
#[derive(Clone, Debug, clap::Args)]
pub struct FarmConfig {
    /// Redis instances: `;` between clusters, `,` between instances,
    /// IPv6 in brackets (`[::1]:6379`). Required to connect; optional to
    /// parse, so a binary can offer the farm beside other stores.
    #[arg(long = "redis.instances", env = "STREAM_REDIS_INSTANCES", value_parser = parse_instances)]
    pub instances: Option<Instances>,
    /// How keys are placed on a cluster's instances: murmur3, fnv, fnva
    /// (Roshi's) or jump.
    #[arg(long = "redis.hash", default_value = "murmur3", value_parser = parse_sharding)]
    pub hash: Sharding,
    /// Each cluster of `-redis.instances` is a Redis Cluster, named by
    /// seed nodes; Redis places the keys (a layout of its own: see
    /// `stream::redis::native`).
    #[arg(long = "redis.cluster", default_value_t = false)]
    pub redis_cluster: bool,
    /// Connections per Redis instance.
    #[arg(long = "redis.mcpi", default_value_t = 10)]
    pub mcpi: usize,
    /// Requests one connection carries at once (pipelined).
    #[arg(long = "redis.pipeline.depth", default_value_t = 16)]
    pub pipeline_depth: usize,
    /// How long a request waits for room before it fails.
    #[arg(long = "redis.pool.timeout", default_value = "1s", value_parser = parse_go_duration)]
    pub pool_timeout: Duration,
    /// TCP connect timeout.
    #[arg(long = "redis.connect.timeout", default_value = "3s", value_parser = parse_go_duration)]
    pub connect_timeout: Duration,
    /// Reply timeout.
    #[arg(long = "redis.read.timeout", default_value = "3s", value_parser = parse_go_duration)]
    pub read_timeout: Duration,
    /// Accepted for compatibility; writes are bounded by the read timeout.
    #[arg(long = "redis.write.timeout", default_value = "3s", value_parser = parse_go_duration)]
    pub write_timeout: Duration,
    /// Replicas that must accept a write: N, or P% rounded up.
    #[arg(long = "farm.write.quorum", default_value = "51%", value_parser = parse_quorum)]
    pub write_quorum: Quorum,
    /// SendOneReadOne, SendAllReadAll, SendAllReadFirstLinger or
    /// SendVarReadFirstLinger.
    #[arg(long = "farm.read.strategy", default_value = "SendAllReadAll")]
    pub read_strategy: String,
    /// SendVarReadFirstLinger: keys a second that may be read from all.
    #[arg(long = "farm.read.threshold.rate", default_value_t = 2000)]
    pub read_threshold_rate: u32,
    /// SendVarReadFirstLinger: how long one replica may take before the
    /// others are asked too.
    #[arg(long = "farm.read.threshold.latency", default_value = "50ms", value_parser = parse_go_duration)]
    pub read_threshold_latency: Duration,
    /// AllRepairs, NoRepairs or RateLimitedRepairs.
    #[arg(long = "farm.repair.strategy", default_value = "RateLimitedRepairs")]
    pub repair_strategy: String,
    /// RateLimitedRepairs: key-members repaired a second.
    #[arg(long = "farm.repair.max.keys.per.second", default_value_t = 1000)]
    pub repair_keys_per_second: u32,
    /// Repair requests that may wait; more are dropped and counted.
    #[arg(long = "farm.repair.queue", default_value_t = 256)]
    pub repair_queue: usize,
    /// Writes one replica may have in flight before writes to it fail fast.
    #[arg(long = "farm.max.in.flight", default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Entries kept per key (adds and tombstones together).
    #[arg(long = "max.size", default_value_t = crate::crdt::DEFAULT_MAX_SIZE)]
    pub max_size: usize,
}

impl FarmConfig {
    /// A configuration with Roshi's defaults for `instances`.
    pub fn new(instances: Instances) -> FarmConfig {
        let d = ClusterConfig::default();
        FarmConfig {
            instances: Some(instances),
            hash: d.sharding,
            redis_cluster: false,
            mcpi: d.pool_size,
            pipeline_depth: d.pipeline_depth,
            pool_timeout: d.pool_timeout,
            connect_timeout: d.connect_timeout,
            read_timeout: d.response_timeout,
            write_timeout: d.response_timeout,
            write_quorum: Quorum::default(),
            read_strategy: "SendAllReadAll".into(),
            read_threshold_rate: 2000,
            read_threshold_latency: Duration::from_millis(50),
            repair_strategy: "RateLimitedRepairs".into(),
            repair_keys_per_second: 1000,
            repair_queue: 256,
            max_in_flight: 1024,
            max_size: d.max_size,
        }
    }

    /// Each cluster's settings.
    pub fn cluster_config(&self) -> ClusterConfig {
        ClusterConfig {
            sharding: self.hash,
            max_size: self.max_size,
            pool_size: self.mcpi.max(1),
            pipeline_depth: self.pipeline_depth.max(1),
            pool_timeout: self.pool_timeout,
            connect_timeout: self.connect_timeout,
            response_timeout: self.read_timeout,
            ..ClusterConfig::default()
        }
    }

    /// The farm's policies; fails on unknown strategy names or a quorum
    /// out of range.
    pub fn options(&self) -> Result<FarmOptions, ConfigError> {
        let options = FarmOptions {
            write_quorum: self.write_quorum,
            read_strategy: ReadStrategy::parse(
                &self.read_strategy,
                self.read_threshold_rate,
                self.read_threshold_latency,
            )?,
            repair_strategy: RepairStrategy::parse(
                &self.repair_strategy,
                self.repair_keys_per_second,
            )?,
            repair_queue: self.repair_queue,
            max_in_flight: self.max_in_flight,
        };
        options
            .write_quorum
            .of(self.instances()?.clusters().len())?;
        Ok(options)
    }

    /// The instances, or an error saying that `-redis.instances` is missing.
    pub fn instances(&self) -> Result<&Instances, ConfigError> {
        self.instances
            .as_ref()
            .ok_or_else(|| ConfigError::Invalid("no Redis instances: give -redis.instances".into()))
    }

    /// The farm, with no repair hooks. Connects lazily: unreachable
    /// instances fail only the requests that need them.
    pub async fn connect(&self) -> Result<Farm<Cluster>, StoreError> {
        self.connect_with_hooks(Arc::new(NoRepairHooks)).await
    }

    /// The farm, reporting repairs to `hooks`.
    pub async fn connect_with_hooks(
        &self,
        hooks: Arc<dyn RepairHooks>,
    ) -> Result<Farm<Cluster>, StoreError> {
        let invalid = |e: ConfigError| StoreError::Invalid(e.to_string());
        let options = self.options().map_err(invalid)?;
        let config = self.cluster_config();
        let mut clusters = Vec::new();
        for (i, addrs) in self
            .instances()
            .map_err(invalid)?
            .clusters()
            .iter()
            .enumerate()
        {
            let cluster = if self.redis_cluster {
                Cluster::redis_cluster(addrs, &config).await?
            } else {
                Cluster::new(addrs, &config)?
            };
            clusters.push(cluster.with_name(format!("cluster {i}")));
        }
        Farm::new(clusters, options, hooks).map_err(invalid)
    }
}

fn parse_instances(s: &str) -> Result<Instances, ConfigError> {
    s.parse()
}

fn parse_sharding(s: &str) -> Result<Sharding, String> {
    s.parse()
        .map_err(|e: crate::redis::shard::UnknownSharding| e.to_string())
}

fn parse_quorum(s: &str) -> Result<Quorum, ConfigError> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    #[derive(Parser, Debug)]
    struct Cmd {
        #[command(flatten)]
        farm: FarmConfig,
    }

    #[test]
    fn roshi_flags_parse_with_defaults() {
        let cmd = Cmd::try_parse_from(go_flags([
            "stream",
            "-redis.instances",
            "a:1,b:2;[::1]:3",
            "-farm.read.strategy",
            "sendvarreadfirstlinger",
            "-farm.read.threshold.latency=20ms",
        ]))
        .unwrap();
        let c = cmd.farm;
        assert_eq!(c.instances().unwrap().clusters().len(), 2);
        assert_eq!(c.mcpi, 10);
        assert_eq!(c.write_quorum, Quorum::Percent(51.0));
        assert_eq!(c.connect_timeout, Duration::from_secs(3));
        let o = c.options().unwrap();
        assert_eq!(
            o.read_strategy,
            ReadStrategy::SendVarReadFirstLinger {
                rate: 2000,
                latency: Duration::from_millis(20)
            }
        );
        assert_eq!(
            o.repair_strategy,
            RepairStrategy::RateLimitedRepairs {
                keys_per_second: 1000
            }
        );
        assert_eq!(c.cluster_config().max_size, 10_000);
    }

    #[test]
    fn bad_flags_are_errors() {
        for args in [
            vec!["s", "--redis.instances", "a:1;;b:2"],
            vec!["s", "--redis.instances", "a:1", "--farm.write.quorum", "x"],
            vec!["s", "--redis.instances", "a:1", "--redis.hash", "md5"],
            vec!["s", "--redis.instances", "a:1", "--redis.read.timeout", "3"],
        ] {
            assert!(Cmd::try_parse_from(&args).is_err(), "{args:?}");
        }
        let cmd =
            Cmd::try_parse_from(["s", "--redis.instances", "a:1", "--farm.write.quorum", "2"])
                .unwrap();
        assert!(cmd.farm.options().is_err(), "2 of 1 replicas");
        let cmd =
            Cmd::try_parse_from(["s", "--redis.instances", "a:1", "--farm.read.strategy", "x"])
                .unwrap();
        assert!(cmd.farm.options().is_err());
    }

    #[test]
    fn go_durations() {
        let d = |s| parse_go_duration(s);
        assert_eq!(d("0"), Ok(Duration::ZERO));
        assert_eq!(d("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(d("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(d("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(d("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(d("10µs"), Ok(Duration::from_micros(10)));
        for bad in ["", "5", "s", "1x", "-1s", "1..2s", "ms1"] {
            assert!(d(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn duration_garbage_never_panics(s in "\\PC{0,16}") {
            let _ = parse_go_duration(&s);
        }
    }
}
