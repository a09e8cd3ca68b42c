// Writes one flat JSON object per scenario result (numbers, strings, booleans, number arrays).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace bench {

class JsonObject {
public:
    JsonObject& str(const std::string& key, const std::string& value) {
        std::string quoted = "\"";
        for (char c : value) {
            if (c == '"' || c == '\\')
                quoted += '\\';
            if (uint8_t(c) >= 0x20)
                quoted += c;
        }
        return raw(key, quoted + "\"");
    }
    JsonObject& integer(const std::string& key, int64_t value) {
        return raw(key, std::to_string(value));
    }
    JsonObject& number(const std::string& key, double value) { return raw(key, format(value)); }
    JsonObject& boolean(const std::string& key, bool value) {
        return raw(key, value ? "true" : "false");
    }
    JsonObject& numbers(const std::string& key, const std::vector<double>& values) {
        std::string list = "[";
        for (size_t i = 0; i < values.size(); ++i)
            list += (i ? "," : "") + format(values[i]);
        return raw(key, list + "]");
    }
    std::string text() const { return body_ + "}"; }

private:
    static std::string format(double v) {
        if (!std::isfinite(v))
            return "null";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return buf;
    }
    JsonObject& raw(const std::string& key, const std::string& value) {
        body_ += (body_.size() > 1 ? ",\"" : "\"") + key + "\":" + value;
        return *this;
    }
    std::string body_ = "{";
};

} // namespace bench
