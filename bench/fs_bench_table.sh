# Sourced by fs_bench.sh: prints the table of medians and ratios from the
# associative array `results` ("TARGET.KEY" -> space-separated values).

table_targets=(local passthrough glusterfs leader follower etcd)
# Ratio columns: header, numerator target, denominator target.
table_ratios=("lead/local leader local" "lead/gluster leader glusterfs"
              "lead/pthru leader passthrough" "foll/pthru follower passthrough"
              "lead/etcd leader etcd")
table_keys=(fsync4k_p50_us fsync4k_p99_us fsync4k_16_iops seqwrite_mib_s
            seqread_mib_s warmread_mib_s create_files_s stat_files_s
            unlink_files_s visibility_p50_us visibility_p99_us tar_x_s
            git_status_s git_status_again_s)

median() {
  tr ' ' '\n' | awk NF | sort -g |
    awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'
}

print_table() {  # print_table TITLE
  local key t spec num den
  printf '%-18s' "$1"
  for t in "${table_targets[@]}"; do printf '%12s' "$t"; done
  for spec in "${table_ratios[@]}"; do printf '%13s' "${spec%% *}"; done
  printf '\n'
  for key in "${table_keys[@]}"; do
    printf '%-18s' "$key"
    declare -A med=()
    for t in "${table_targets[@]}"; do
      med[$t]=$(median <<< "${results[$t.$key]:-}")
      printf '%12s' "${med[$t]}"
    done
    for spec in "${table_ratios[@]}"; do
      read -r _ num den <<< "$spec"
      awk -v a="${med[$num]}" -v b="${med[$den]}" 'BEGIN {
        if (a != "-" && b != "-" && b > 0) printf "%12.2fx", a / b
        else printf "%13s", "-" }'
    done
    printf '\n'
  done
  echo "(ratios are target/baseline: above 1 is better for rates, worse for latencies and times)"
}
