#include "console/ui/AppIcon.h"

#include <QImageReader>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace herald::console {
namespace {
QPixmap painted(int size) {
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    p.scale(size / 128.0, size / 128.0); // draw in the SVG's 128x128 coordinates
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0x1f, 0x3a, 0x5f));
    p.drawRoundedRect(QRectF(4, 4, 120, 120), 24, 24);
    p.setBrush(QColor(0xf4, 0xc5, 0x42));
    p.drawPolygon(QPolygonF({QPointF(24, 58), QPointF(60, 40), QPointF(60, 88), QPointF(24, 70)}));
    p.drawRoundedRect(QRectF(16, 56, 10, 16), 3, 3);
    p.setBrush(QColor(0xe0, 0xa8, 0x00));
    p.drawPolygon(QPolygonF({QPointF(34, 72), QPointF(44, 96), QPointF(52, 96), QPointF(46, 74)}));
    QPen wave(QColor(0x9f, 0xd3, 0xff), 6, Qt::SolidLine, Qt::RoundCap);
    p.setPen(wave);
    p.setBrush(Qt::NoBrush);
    for (auto [x, reach, top] :
         {std::tuple{74.0, 10.0, 50.0}, {86.0, 16.0, 40.0}, {98.0, 22.0, 30.0}}) {
        QPainterPath path(QPointF(x, top));
        path.quadTo(QPointF(x + reach, 64), QPointF(x, 128 - top));
        p.drawPath(path);
    }
    return pixmap;
}
} // namespace

QIcon appIcon() {
    if (QImageReader::supportedImageFormats().contains("svg"))
        return QIcon(QStringLiteral(":/icons/herald-console.svg"));
    QIcon icon;
    for (int size : {16, 24, 32, 48, 64, 128, 256})
        icon.addPixmap(painted(size));
    return icon;
}

} // namespace herald::console
