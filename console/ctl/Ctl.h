#pragma once

#include <QProcessEnvironment>
#include <QStringList>

namespace herald::ctl {

// Runs heraldctl: `arguments` as from QCoreApplication::arguments() (program name first), the
// environment for the HERALD_* defaults. Needs a QCoreApplication; runs its own event loop
// while a command talks to the server. Returns the process exit code (see ExitCode).
int run(const QStringList& arguments, const QProcessEnvironment& environment);

} // namespace herald::ctl
