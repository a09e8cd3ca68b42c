#include "Histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

namespace bench {
namespace {
constexpr int kSubBits = 7; // 128 buckets per power of two
constexpr uint64_t kSub = uint64_t(1) << kSubBits;
constexpr uint64_t kHalf = kSub / 2;
constexpr size_t kBuckets = (64 - kSubBits + 1) * kHalf + kSub;
} // namespace

Histogram::Histogram()
    : buckets_(kBuckets, 0) {}

size_t Histogram::indexOf(uint64_t v) {
    if (v < kSub)
        return size_t(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - (kSubBits - 1);
    return size_t(uint64_t(shift) * kHalf + (v >> shift));
}

uint64_t Histogram::middleOf(size_t index) {
    if (index < kSub)
        return index;
    const uint64_t shift = index / kHalf - 1;
    const uint64_t mantissa = index - shift * kHalf;
    const uint64_t low = mantissa << shift;
    return low + ((uint64_t(1) << shift) >> 1);
}

void Histogram::add(int64_t valueNs) {
    const int64_t v = std::max<int64_t>(0, valueNs);
    ++buckets_[indexOf(uint64_t(v))];
    if (count_ == 0 || v < min_)
        min_ = v;
    if (count_ == 0 || v > max_)
        max_ = v;
    ++count_;
}

void Histogram::merge(const Histogram& other) {
    if (other.count_ == 0)
        return;
    for (size_t i = 0; i < kBuckets; ++i)
        buckets_[i] += other.buckets_[i];
    min_ = count_ ? std::min(min_, other.min_) : other.min_;
    max_ = count_ ? std::max(max_, other.max_) : other.max_;
    count_ += other.count_;
}

void Histogram::clear() {
    std::fill(buckets_.begin(), buckets_.end(), 0);
    count_ = 0;
    min_ = max_ = 0;
}

int64_t Histogram::percentile(double q) const {
    if (count_ == 0)
        return 0;
    // The rank of the q-quantile, 1-based: p100 is the last value, p0 the first.
    const uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(q * double(count_))));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank)
            return std::clamp<int64_t>(int64_t(middleOf(i)), min_, max_);
    }
    return max_;
}

std::string Histogram::serialize() const {
    std::string out = std::to_string(min()) + ':' + std::to_string(max()) + ':';
    for (size_t i = 0; i < kBuckets; ++i) {
        if (buckets_[i] == 0)
            continue;
        out += std::to_string(i);
        out += '=';
        out += std::to_string(buckets_[i]);
        out += ';';
    }
    return out;
}

bool Histogram::parse(std::string_view text) {
    clear();
    const char* p = text.data();
    const char* end = p + text.size();
    int64_t mn = 0, mx = 0;
    auto r = std::from_chars(p, end, mn);
    if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ':')
        return false;
    r = std::from_chars(r.ptr + 1, end, mx);
    if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ':')
        return false;
    p = r.ptr + 1;
    while (p < end) {
        size_t idx = 0;
        uint64_t n = 0;
        r = std::from_chars(p, end, idx);
        if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '=' || idx >= kBuckets)
            return false;
        r = std::from_chars(r.ptr + 1, end, n);
        if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ';')
            return false;
        buckets_[idx] += n;
        count_ += n;
        p = r.ptr + 1;
    }
    min_ = mn;
    max_ = mx;
    return true;
}

} // namespace bench
