#include "console/ui/ConnectionsChart.h"

#include "console/app/ConnectionsHistory.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

namespace herald::console {
namespace {
// Past this many lines the legend would cover the plot; the node table names them anyway.
constexpr int kMaxLegendEntries = 10;

// The y-axis counts connections: whole numbers from 0 to a round top, 4-5 steps of 1, 2 or 5
// times a power of ten. (Qt's default range 0..1 with "%d" labels read "1, 0, 0, 0, 0", and
// applyNiceNumbers() may pick fractional steps.)
void setCountRange(QValueAxis* axis, qint64 highest) {
    const qint64 wanted = std::max<qint64>(10, highest + highest / 10 + 1);
    qint64 step = 1;
    for (qint64 magnitude = 1;; magnitude *= 10) {
        if (wanted <= 5 * magnitude) {
            step = magnitude;
            break;
        }
        if (wanted <= 10 * magnitude) {
            step = 2 * magnitude;
            break;
        }
        if (wanted <= 25 * magnitude) {
            step = 5 * magnitude;
            break;
        }
    }
    const qint64 top = (wanted + step - 1) / step * step;
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0);
    axis->setTickInterval(static_cast<double>(step));
    axis->setRange(0, static_cast<double>(top));
}
} // namespace

ConnectionsChart::ConnectionsChart(ConnectionsHistory& history, QWidget* parent)
    : QChartView(parent)
    , history_(history) {
    auto* chart = new QChart;
    chart->setTitle(tr("Connections"));
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->setMargins(QMargins(4, 4, 4, 4));
    time_ = new QDateTimeAxis;
    time_->setFormat(QStringLiteral("HH:mm:ss"));
    time_->setTickCount(6);
    value_ = new QValueAxis;
    value_->setLabelFormat(QStringLiteral("%d"));
    setCountRange(value_, 0);
    // A real range before the axis joins the chart: with QDateTimeAxis's default one the time
    // labels and grid never appear, even after later setRange() calls (Qt 6.4).
    const QDateTime now = QDateTime::currentDateTime();
    time_->setRange(now.addSecs(-60), now);
    chart->addAxis(time_, Qt::AlignBottom);
    chart->addAxis(value_, Qt::AlignLeft);
    // setChart() does not delete the chart QChartView made for itself (Qt documents it);
    // without this each dashboard leaked ~90 KB (LeakSanitizer, sanitizer build).
    QChart* const initial = this->chart();
    setChart(chart);
    delete initial;
    setRenderHint(QPainter::Antialiasing);
    total_ = addSeries(tr("total"), true);
    connect(&history_, &ConnectionsHistory::sampled, this, &ConnectionsChart::refresh);
    connect(&history_, &ConnectionsHistory::nodeRemoved, this, [this](const QString& id) {
        if (QLineSeries* s = nodes_.take(id)) {
            this->chart()->removeSeries(s);
            delete s;
        }
    });
}

QLineSeries* ConnectionsChart::addSeries(const QString& name, bool emphasised) {
    auto* s = new QLineSeries;
    s->setName(name);
    chart()->addSeries(s);
    s->attachAxis(time_);
    s->attachAxis(value_);
    if (emphasised) {
        QPen pen = s->pen();
        pen.setWidth(3);
        s->setPen(pen);
    }
    return s;
}

void ConnectionsChart::refresh() {
    // replace() hands each series its whole list at once: one repaint per series, not per point.
    total_->replace(history_.total());
    // New nodes are added in id order, so the legend reads n1, n2, n3 rather than hash order.
    QStringList ids = history_.perNode().keys();
    ids.sort();
    for (const QString& id : ids) {
        QLineSeries*& s = nodes_[id];
        if (!s)
            s = addSeries(id, false);
        s->replace(history_.perNode().value(id));
    }
    chart()->legend()->setVisible(nodes_.size() < kMaxLegendEntries);
    // Until the window has filled, show what there is rather than a mostly empty plot.
    const qint64 end = std::max<qint64>(history_.latestMs(), 1);
    const qint64 first =
        history_.total().isEmpty() ? end : static_cast<qint64>(history_.total().first().x());
    const qint64 start = std::max(first, end - history_.windowMs());
    time_->setRange(QDateTime::fromMSecsSinceEpoch(std::min(start, end - 10'000)),
                    QDateTime::fromMSecsSinceEpoch(end));
    setCountRange(value_, history_.maxValue());
}

} // namespace herald::console
