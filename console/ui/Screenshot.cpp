#include "console/ui/Screenshot.h"

#include <QApplication>
#include <QPixmap>
#include <QTimer>
#include <QWidget>

namespace herald::console {

void scheduleScreenshot(QWidget& window, const QString& path, int delayMs) {
    QTimer::singleShot(delayMs, &window, [&window, path] {
        const bool saved = window.grab().save(path, "PNG");
        if (!saved)
            qWarning("herald-console: cannot write screenshot %s", qPrintable(path));
        QApplication::exit(saved ? 0 : 1);
    });
}

} // namespace herald::console
