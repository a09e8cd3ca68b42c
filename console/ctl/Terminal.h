#pragma once

#include <QString>

// Where heraldctl writes: results to standard output, errors and progress to standard error.
// Each call writes whole lines and flushes, so pipes see every line as soon as it is printed.
namespace herald::ctl {

// Writes `text` to stdout, adding a newline when it does not end with one.
void printOut(const QString& text);
// Writes "heraldctl: <text>" to stderr.
void printError(const QString& text);
// Writes `text` to stderr as is (plus a newline when missing).
void printErrRaw(const QString& text);

} // namespace herald::ctl
