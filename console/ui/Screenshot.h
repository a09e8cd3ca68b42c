#pragma once

#include <QString>

class QWidget;

namespace herald::console {

// Saves a PNG of `window` after `delayMs`, then quits the application (exit code 1 if the file
// could not be written). Used by packaging/screenshots.sh, which runs the console under Xvfb:
// grabbing the window itself needs no X screenshot tool and leaves out the desktop around it.
void scheduleScreenshot(QWidget& window, const QString& path, int delayMs);

} // namespace herald::console
