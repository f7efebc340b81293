# Source this: podman settings for building and running the image on a host without Docker.
# runc (crun refuses some hosts' cgroups), cgroupfs (no systemd needed), and modest default limits:
# podman's own defaults (nofile 1048576, nproc 4194304) make runc fail with "error setting rlimit ...:
# operation not permitted" where the host allows less. The bot needs a few threads and one descriptor
# per connection; 16384 files and 4096 processes leave room to spare.
# Exports CONTAINERS_CONF, pointing at a file of its own; the host's containers.conf is left alone.
_ecs_nofile="$(ulimit -Hn)"
if [ "$_ecs_nofile" = unlimited ] || [ "$_ecs_nofile" -gt 16384 ]; then _ecs_nofile=16384; fi
CONTAINERS_CONF="$(mktemp -t ecs-reset-bot-containers.XXXXXX)"
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=${_ecs_nofile}:${_ecs_nofile}", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF
unset _ecs_nofile
