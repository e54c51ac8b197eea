# Sourced by fs_bench.sh: prints the table of medians and ratios from the
# associative array `results` ("TARGET.KEY" -> space-separated values).

table_targets="local passthrough glusterfs leader follower etcd"
# Ratio columns: header:numerator target:denominator target.
table_ratios="lead/local:leader:local lead/gluster:leader:glusterfs
              lead/pthru:leader:passthrough foll/pthru:follower:passthrough
              lead/etcd:leader:etcd"
table_keys="fsync4k_p50_us fsync4k_p99_us fsync4k_16_iops seqwrite_mib_s
            seqwrite8_mib_s seqread_mib_s warmread_mib_s create_files_s stat_files_s
            unlink_files_s visibility_p50_us visibility_p99_us tar_x_s
            git_status_s git_status_again_s"

median() {
  tr ' ' '\n' | awk NF | sort -g |
    awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'
}

print_table() {  # print_table TITLE
  local k
  for k in "${!results[@]}"; do echo "$k ${results[$k]}"; done |
    awk -v title="$1" -v targets="$table_targets" -v ratios="$table_ratios" \
      -v keys="$table_keys" '
    function median(s,   v, n, i, j, t) {
      n = split(s, v, " ")
      for (i = 2; i <= n; i++)  # insertion sort: a handful of values
        for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
          t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
      return n ? v[int((n + 1) / 2)] : "-"
    }
    { k = $1; $1 = ""; vals[k] = $0 }
    END {
      nt = split(targets, tg, " "); nr = split(ratios, rt, " "); nk = split(keys, ky, " ")
      printf "%-18s", title
      for (i = 1; i <= nt; i++) printf "%12s", tg[i]
      for (i = 1; i <= nr; i++) { split(rt[i], p, ":"); printf "%13s", p[1] }
      printf "\n"
      for (r = 1; r <= nk; r++) {
        printf "%-18s", ky[r]
        for (i = 1; i <= nt; i++) {
          med[tg[i]] = median(vals[tg[i] "." ky[r]])
          printf "%12s", med[tg[i]]
        }
        for (i = 1; i <= nr; i++) {
          split(rt[i], p, ":"); a = med[p[2]]; b = med[p[3]]
          if (a != "-" && b != "-" && b + 0 > 0) printf "%12.2fx", a / b
          else printf "%13s", "-"
        }
        printf "\n"
      }
      print "(ratios are target/baseline: above 1 is better for rates, worse for latencies and times)"
    }'
}
