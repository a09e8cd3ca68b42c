#pragma once

#include <QWidget>

class QLabel;
class QTableView;
class QPushButton;

namespace herald::console {

class ConsoleSession;
class NodeTableProxy;

// Big cluster totals, the sortable node table and the connections chart.
class DashboardView : public QWidget {
    Q_OBJECT
public:
    explicit DashboardView(ConsoleSession& session, QWidget* parent = nullptr);

    QTableView* nodeTable() const { return table_; }
    // The node id of the selected row; empty when none.
    QString selectedNode() const;
    // Asks for confirmation, then sends drain for the selected node.
    void drainSelected();

private:
    void showTotals();

    ConsoleSession& session_;
    NodeTableProxy* proxy_;
    QTableView* table_;
    QLabel* connections_;
    QLabel* users_;
    QLabel* nodes_;
    QLabel* connectionsCaption_ = nullptr;
    QLabel* usersCaption_ = nullptr;
    QLabel* nodesCaption_ = nullptr;
    QPushButton* drain_;
    bool fitted_ = false;
};

} // namespace herald::console
