#include "console/ctl/Ctl.h"

#include <QCoreApplication>

int main(int argc, char* argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("heraldctl"));
    return herald::ctl::run(QCoreApplication::arguments(),
                            QProcessEnvironment::systemEnvironment());
}
