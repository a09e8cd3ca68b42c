#include "console/ctl/Terminal.h"

#include <cstdio>

namespace herald::ctl {
namespace {

void writeLine(std::FILE* stream, const QString& text) {
    QByteArray bytes = text.toUtf8();
    if (!bytes.endsWith('\n'))
        bytes.append('\n');
    std::fwrite(bytes.constData(), 1, static_cast<std::size_t>(bytes.size()), stream);
    std::fflush(stream);
}

} // namespace

void printOut(const QString& text) {
    writeLine(stdout, text);
}

void printError(const QString& text) {
    writeLine(stderr, QStringLiteral("heraldctl: ") + text);
}

void printErrRaw(const QString& text) {
    writeLine(stderr, text);
}

} // namespace herald::ctl
