#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QTableView;

namespace herald::console {

class ConsoleSession;

// Top streams by subscribers; double-click a stream to tail it.
class StreamsView : public QWidget {
    Q_OBJECT
public:
    explicit StreamsView(ConsoleSession& session, QWidget* parent = nullptr);
Q_SIGNALS:
    void tailRequested(const QString& stream);
};

// A live copy of one stream.
class TailView : public QWidget {
    Q_OBJECT
public:
    explicit TailView(ConsoleSession& session, QWidget* parent = nullptr);
    void tail(const QString& stream);

private:
    ConsoleSession& session_;
    QLineEdit* stream_;
    QLabel* status_;
    QTableView* table_;
};

// Who sent what, when: every broadcast and admin action.
class AuditView : public QWidget {
    Q_OBJECT
public:
    explicit AuditView(ConsoleSession& session, QWidget* parent = nullptr);
};

} // namespace herald::console
