#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace herald::console {

class NodeStatsClient;

// The first console view: live totals of one node and a broadcast form.
class StatusWindow : public QWidget {
    Q_OBJECT
public:
    explicit StatusWindow(NodeStatsClient& client, QWidget* parent = nullptr);

private:
    void showSnapshot(const QJsonObject& cluster);
    void send();

    NodeStatsClient& client_;
    QLabel* connections_;
    QLabel* users_;
    QLabel* node_;
    QLabel* status_;
    QLineEdit* title_;
    QLineEdit* body_;
    QComboBox* level_;
    QPushButton* sendButton_;
};

} // namespace herald::console
