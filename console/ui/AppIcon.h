#pragma once

#include <QIcon>

namespace herald::console {

// The console's icon: resources/icons/herald-console.svg where Qt can read SVG (qt6-svg
// installed), otherwise the same drawing painted here, so the window never shows a blank icon.
QIcon appIcon();

} // namespace herald::console
