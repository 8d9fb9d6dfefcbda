#pragma once
// Turns the results file of one bench/run.sh run into markdown tables, one per benchmark, with
// the targets from the issues printed beside our numbers.

#include <string>
#include <vector>

#include "util/status.h"

namespace crio::bench {

// Prints the tables to stdout. `counts`: the pod counts of the density benchmark;
// `stats_counts`: those of the stats benchmark. Errors: the results file cannot be read.
Status PrintReport(const std::string& results_path, const std::vector<int>& counts,
                   const std::vector<int>& stats_counts);

}  // namespace crio::bench
