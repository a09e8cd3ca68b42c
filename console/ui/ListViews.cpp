#include "console/ui/ListViews.h"

#include "console/app/ConsoleSession.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace herald::console {
namespace {
// Every column fits its content and only `stretch` (the free-text one) takes the width left:
// with the last column stretched, a long first column (stream names, times) was cut instead.
QTableView* table(QWidget* parent, QAbstractItemModel* model, const QString& name, int stretch) {
    auto* t = new QTableView(parent);
    t->setObjectName(name);
    t->setModel(model);
    t->verticalHeader()->hide();
    QHeaderView* header = t->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(stretch, QHeaderView::Stretch);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setWordWrap(false);
    return t;
}
} // namespace

StreamsView::StreamsView(ConsoleSession& session, QWidget* parent)
    : QWidget(parent) {
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(&session.streams());
    proxy->setSortRole(StreamsModel::SortRole);
    auto* view = table(this, proxy, QStringLiteral("streamsTable"), StreamsModel::Stream);
    view->setSortingEnabled(true);
    view->sortByColumn(StreamsModel::Subscribers, Qt::DescendingOrder);
    auto* refresh = new QPushButton(tr("&Refresh"), this);
    connect(refresh, &QPushButton::clicked, &session, &ConsoleSession::refreshStreams);
    connect(view, &QTableView::doubleClicked, this, [this, proxy](const QModelIndex& index) {
        Q_EMIT tailRequested(proxy->index(index.row(), StreamsModel::Stream).data().toString());
    });
    auto* bar = new QHBoxLayout;
    bar->addWidget(
        new QLabel(tr("Top streams by subscribers over all live nodes (refreshed every 5 s; "
                      "double-click to tail)."),
                   this),
        1);
    bar->addWidget(refresh);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(view, 1);
}

TailView::TailView(ConsoleSession& session, QWidget* parent)
    : QWidget(parent)
    , session_(session) {
    stream_ = new QLineEdit(this);
    stream_->setObjectName(QStringLiteral("tailStream"));
    stream_->setPlaceholderText(tr("stream to tail, e.g. promotional or private.u42.order"));
    auto* start = new QPushButton(tr("&Tail"), this);
    auto* stop = new QPushButton(tr("Sto&p"), this);
    status_ = new QLabel(tr("Not tailing."), this);
    table_ = table(this, &session_.tail(), QStringLiteral("tailTable"), TailModel::Data);
    connect(start, &QPushButton::clicked, this, [this] { tail(stream_->text().trimmed()); });
    connect(stream_, &QLineEdit::returnPressed, this, [this] { tail(stream_->text().trimmed()); });
    connect(stop, &QPushButton::clicked, this, [this] {
        session_.stopTail();
        status_->setText(tr("Not tailing."));
    });
    // Follow the newest line unless the admin scrolled up to read.
    connect(&session_.tail(), &QAbstractItemModel::rowsInserted, this, [this] {
        if (table_->verticalScrollBar()->value() >= table_->verticalScrollBar()->maximum() - 2)
            table_->scrollToBottom();
    });
    auto* bar = new QHBoxLayout;
    bar->addWidget(stream_, 1);
    bar->addWidget(start);
    bar->addWidget(stop);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(status_);
    layout->addWidget(table_, 1);
}

void TailView::tail(const QString& stream) {
    stream_->setText(stream);
    QString why;
    if (!session_.startTail(stream, &why)) {
        status_->setText(tr("Cannot tail: %1").arg(why));
        return;
    }
    status_->setText(why.isEmpty() ? tr("Tailing %1.").arg(session_.tailedStream()) : why);
}

AuditView::AuditView(ConsoleSession& session, QWidget* parent)
    : QWidget(parent) {
    auto* view = table(this, &session.audit(), QStringLiteral("auditTable"), AuditModel::Detail);
    auto* refresh = new QPushButton(tr("&Refresh"), this);
    connect(refresh, &QPushButton::clicked, &session, &ConsoleSession::refreshAudit);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Every broadcast and admin action, newest first."), this), 1);
    bar->addWidget(refresh);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(view, 1);
}

} // namespace herald::console
