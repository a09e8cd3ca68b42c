#include "console/ui/StatusWindow.h"

#include "console/app/NodeStatsClient.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

namespace herald::console {
namespace {
QLabel* bigNumber(QWidget* parent) {
    auto* label = new QLabel(QStringLiteral("–"), parent);
    QFont font = label->font();
    font.setPointSize(font.pointSize() * 3);
    font.setBold(true);
    label->setFont(font);
    label->setAlignment(Qt::AlignCenter);
    return label;
}
} // namespace

StatusWindow::StatusWindow(NodeStatsClient& client, QWidget* parent)
    : QWidget(parent)
    , client_(client) {
    setWindowTitle(QStringLiteral("Herald console — %1").arg(client.server().toString()));
    auto* layout = new QVBoxLayout(this);

    auto* totals = new QHBoxLayout;
    connections_ = bigNumber(this);
    users_ = bigNumber(this);
    for (auto [label, caption] : {std::pair{connections_, "connections"}, std::pair{users_, "unique users"}}) {
        auto* box = new QVBoxLayout;
        box->addWidget(label);
        box->addWidget(new QLabel(QString::fromLatin1(caption), this), 0, Qt::AlignCenter);
        totals->addLayout(box);
    }
    layout->addLayout(totals);
    node_ = new QLabel(this);
    layout->addWidget(node_);

    auto* group = new QGroupBox(QStringLiteral("Broadcast a system message"), this);
    auto* form = new QFormLayout(group);
    title_ = new QLineEdit(group);
    body_ = new QLineEdit(group);
    level_ = new QComboBox(group);
    level_->addItems({QStringLiteral("info"), QStringLiteral("warning"), QStringLiteral("critical")});
    sendButton_ = new QPushButton(QStringLiteral("Send to everyone…"), group);
    form->addRow(QStringLiteral("&Title"), title_);
    form->addRow(QStringLiteral("&Body"), body_);
    form->addRow(QStringLiteral("&Level"), level_);
    form->addRow(sendButton_);
    layout->addWidget(group);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    layout->addWidget(status_);

    connect(&client_, &NodeStatsClient::snapshot, this, &StatusWindow::showSnapshot);
    connect(&client_, &NodeStatsClient::problem, this, [this](const QString& text) {
        status_->setText(text.isEmpty() ? QString() : QStringLiteral("⚠ ") + text);
    });
    connect(sendButton_, &QPushButton::clicked, this, &StatusWindow::send);
    connect(&client_, &NodeStatsClient::broadcastDone, this, [this](bool ok, const QString& text) {
        sendButton_->setEnabled(true);
        status_->setText(ok ? QStringLiteral("Sent broadcast %1").arg(text) : QStringLiteral("Broadcast failed: ") + text);
    });
}

void StatusWindow::showSnapshot(const QJsonObject& cluster) {
    const QJsonObject totals = cluster.value(QLatin1String("totals")).toObject();
    const QJsonObject node = cluster.value(QLatin1String("node")).toObject();
    connections_->setText(QString::number(totals.value(QLatin1String("connections")).toInteger()));
    users_->setText(QString::number(totals.value(QLatin1String("users")).toInteger()));
    node_->setText(QStringLiteral("Node %1 (%2), %3, up %4 s, broker %5")
                       .arg(node.value(QLatin1String("id")).toString(), node.value(QLatin1String("address")).toString(),
                            node.value(QLatin1String("state")).toString())
                       .arg(node.value(QLatin1String("uptime_seconds")).toInteger())
                       .arg(node.value(QLatin1String("broker")).toString()));
}

void StatusWindow::send() {
    if (title_->text().trimmed().isEmpty() && body_->text().trimmed().isEmpty()) {
        status_->setText(QStringLiteral("Write a title or a body first."));
        return;
    }
    const auto answer = QMessageBox::question(
        this, QStringLiteral("Broadcast to everyone?"),
        QStringLiteral("This reaches every connection (%1 now).").arg(connections_->text()));
    if (answer != QMessageBox::Yes)
        return;
    sendButton_->setEnabled(false);
    client_.broadcast(title_->text(), body_->text(), level_->currentText());
}

} // namespace herald::console
