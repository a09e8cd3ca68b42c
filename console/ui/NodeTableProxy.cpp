#include "console/ui/NodeTableProxy.h"

#include "console/app/NodesModel.h"

#include <QBrush>
#include <QColor>
#include <QFont>

namespace herald::console {

NodeTableProxy::NodeTableProxy(QObject* parent)
    : QSortFilterProxyModel(parent) {
    setSortRole(NodesModel::SortRole);
}

QVariant NodeTableProxy::data(const QModelIndex& index, int role) const {
    if (role != Qt::BackgroundRole && role != Qt::ForegroundRole && role != Qt::FontRole &&
        role != Qt::ToolTipRole)
        return QSortFilterProxyModel::data(index, role);
    const QString state = QSortFilterProxyModel::data(index, NodesModel::StateRole).toString();
    if (role == Qt::ToolTipRole) {
        if (state == QLatin1String("down"))
            return tr("This node left the cluster snapshot; it stays listed for a minute so its "
                      "loss is noticed.");
        if (state == QLatin1String("stale"))
            return tr(
                "No fresh snapshot for this node: the console's connection is probably down.");
        if (state == QLatin1String("draining"))
            return tr("Draining: it accepts no new connections and moves its clients elsewhere.");
        return {};
    }
    if (state == QLatin1String("down")) {
        if (role == Qt::BackgroundRole)
            return QBrush(QColor(0xf8, 0xd7, 0xda));
        if (role == Qt::ForegroundRole)
            return QBrush(QColor(0x84, 0x20, 0x29));
        QFont f;
        f.setStrikeOut(true);
        return f;
    }
    if (state == QLatin1String("draining") || state == QLatin1String("stopping")) {
        if (role == Qt::BackgroundRole)
            return QBrush(QColor(0xff, 0xf3, 0xcd));
        if (role == Qt::ForegroundRole)
            return QBrush(QColor(0x66, 0x4d, 0x03));
        return {};
    }
    if (state == QLatin1String("stale")) {
        if (role == Qt::ForegroundRole)
            return QBrush(QColor(0x88, 0x88, 0x88));
        if (role == Qt::FontRole) {
            QFont f;
            f.setItalic(true);
            return f;
        }
    }
    return {};
}

} // namespace herald::console
