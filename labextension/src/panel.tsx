/** The left-sidebar panel: the dashboard header, then the tabs. */
import { ReactWidget } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Message } from '@lumino/messaging';
import React from 'react';

import { IMLOpsContext } from './context';
import { DashboardHeader } from './dashboard';
import { isTabId, TabId, TABS } from './tabs';
import { IVersionVerdict } from './version';

/** The widget id of the sidebar panel. */
export const PANEL_ID = 'jupyter-mlops-sidebar';

/** The sidebar panel: knows its selected tab and whether it is shown. */
export class MLOpsPanel extends ReactWidget {
  constructor(readonly context: IMLOpsContext) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-mlops-panel');
  }

  /** The selected tab. */
  get tab(): TabId {
    return this._tab;
  }

  set tab(tab: TabId) {
    if (tab !== this._tab && isTabId(tab)) {
      this._tab = tab;
      this._tabChanged.emit(tab);
      this.update();
    }
  }

  /** Emitted when another tab is selected. */
  get tabChanged(): ISignal<this, TabId> {
    return this._tabChanged;
  }

  /** What the server's version check said (shown above the tabs unless the same). */
  set verdict(verdict: IVersionVerdict | null) {
    this._verdict = verdict;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.update();
  }

  protected render(): JSX.Element {
    const shown = this.isVisible;
    return (
      <div className="jp-mlops-sidebar">
        <div className="jp-mlops-title">MLOps</div>
        {this._verdict?.message && (
          <div
            className={
              this._verdict.compatibility === 'incompatible' ? 'jp-mlops-error' : 'jp-mlops-warning'
            }
            role="alert"
            data-testid="mlops-version"
          >
            {this._verdict.message}
          </div>
        )}
        <DashboardHeader context={this.context} active={shown} />
        <div className="jp-mlops-tabbar" role="tablist" aria-label="MLOps views">
          {TABS.map(tab => (
            <button
              key={tab.id}
              role="tab"
              aria-selected={tab.id === this._tab}
              aria-label={tab.label}
              title={tab.caption}
              className={tab.id === this._tab ? 'jp-mlops-tab jp-mod-selected' : 'jp-mlops-tab'}
              data-testid={`mlops-tab-${tab.id}`}
              onClick={() => (this.tab = tab.id)}
            >
              <tab.icon.react tag="span" className="jp-mlops-tab-icon" />
              <span className="jp-mlops-tab-label">{tab.short}</span>
            </button>
          ))}
        </div>
        {TABS.map(tab => (
          <div
            key={tab.id}
            role="tabpanel"
            className="jp-mlops-tabpanel"
            data-testid={`mlops-${tab.id}`}
            hidden={tab.id !== this._tab}
          >
            <tab.component context={this.context} active={shown && tab.id === this._tab} />
          </div>
        ))}
      </div>
    );
  }

  private _tab: TabId = 'registry';
  private _verdict: IVersionVerdict | null = null;
  private _tabChanged = new Signal<this, TabId>(this);
}
