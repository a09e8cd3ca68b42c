#pragma once

#include <QChartView>
#include <QHash>

class QLineSeries;
class QDateTimeAxis;
class QValueAxis;

namespace herald::console {

class ConnectionsHistory;

// Connections per node and in total over the history's window, redrawn once per sample.
class ConnectionsChart : public QChartView {
    Q_OBJECT
public:
    explicit ConnectionsChart(ConnectionsHistory& history, QWidget* parent = nullptr);

private:
    void refresh();
    QLineSeries* addSeries(const QString& name, bool emphasised);

    ConnectionsHistory& history_;
    QLineSeries* total_;
    QHash<QString, QLineSeries*> nodes_;
    QDateTimeAxis* time_;
    QValueAxis* value_;
};

} // namespace herald::console
