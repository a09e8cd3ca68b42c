// Latencies in nanoseconds, kept in log-linear buckets (128 per power of two, so a percentile is
// within 0.8% of the true value) with the exact minimum and maximum. Histograms of several
// processes merge by adding counts, so workers send theirs to the coordinator as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

class Histogram {
public:
    Histogram();
    void add(int64_t valueNs);
    void merge(const Histogram& other);
    void clear();

    uint64_t count() const { return count_; }
    int64_t min() const { return count_ ? min_ : 0; }
    int64_t max() const { return count_ ? max_ : 0; }
    // q in [0,1]; 0 for an empty histogram.
    int64_t percentile(double q) const;

    // "min:max:idx=count;idx=count..." with only the non-empty buckets.
    std::string serialize() const;
    bool parse(std::string_view text);

private:
    static size_t indexOf(uint64_t v);
    static uint64_t middleOf(size_t index);

    std::vector<uint64_t> buckets_;
    uint64_t count_ = 0;
    int64_t min_ = 0;
    int64_t max_ = 0;
};

} // namespace bench
