#pragma once

// heraldctl as a child process, for the tests that run it against real nodes.

#include "tests/common/ServerProcess.h"

#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

namespace herald::test {

inline constexpr int kRunTimeoutMs = 20000;

// The test's environment without the HERALD_* defaults heraldctl would pick up.
inline QProcessEnvironment cleanEnvironment() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* name :
         {"HERALD_URL", "HERALD_API_TOKEN", "HERALD_ADMIN_TOKEN", "HERALD_JWT_SECRET"})
        env.remove(QLatin1String(name));
    return env;
}

struct CtlRun {
    bool finished = false;
    int exitCode = -1; // -1: crashed or did not finish
    QString out;
    QString err;
    QString describe() const {
        return QStringLiteral("exit %1\nstdout: %2\nstderr: %3").arg(exitCode).arg(out, err);
    }
};

// Runs heraldctl to completion (polling with a deadline) and collects its output.
inline CtlRun runCtl(const QStringList& args, const QProcessEnvironment& env = cleanEnvironment()) {
    CtlRun run;
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(ServerProcess::binary(QStringLiteral("heraldctl")), args);
    if (!process.waitForStarted(kRunTimeoutMs)) {
        run.err = QStringLiteral("cannot start heraldctl: ") + process.errorString();
        return run;
    }
    run.finished =
        QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, kRunTimeoutMs);
    if (!run.finished) {
        process.kill();
        process.waitForFinished(5000);
    } else if (process.exitStatus() == QProcess::NormalExit) {
        run.exitCode = process.exitCode();
    }
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

// A heraldctl that keeps running (tail): started here, read and stopped by the test.
struct CtlProcess {
    QProcess process;
    QByteArray out;
    QByteArray err;

    void start(const QStringList& args) {
        process.setProcessEnvironment(cleanEnvironment());
        QObject::connect(&process, &QProcess::readyReadStandardOutput, &process,
                         [this] { out += process.readAllStandardOutput(); });
        QObject::connect(&process, &QProcess::readyReadStandardError, &process,
                         [this] { err += process.readAllStandardError(); });
        process.start(ServerProcess::binary(QStringLiteral("heraldctl")), args);
    }
    bool waitForErr(const QByteArray& text) {
        return QTest::qWaitFor(
                   [&] { return err.contains(text) || process.state() == QProcess::NotRunning; },
                   kRunTimeoutMs) &&
               err.contains(text);
    }
    bool waitForExit() {
        return QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; },
                               kRunTimeoutMs);
    }
    QString describe() const {
        return QStringLiteral("stdout: %1\nstderr: %2")
            .arg(QString::fromUtf8(out), QString::fromUtf8(err));
    }
    ~CtlProcess() {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
};

} // namespace herald::test
