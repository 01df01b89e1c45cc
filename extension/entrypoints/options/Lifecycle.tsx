/**
 * Settings of the request lifecycle: which browser notifications to show, and out of office (a delegate
 * who approves in my place between two dates, through the server's delegation API).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Delegation, PersonRef } from '@accesslens/shared';
import { formatDate, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import { APPROVER_KINDS, NOTIFY_KINDS, notifySettingsItem, withDefaults, type NotifyKind, type NotifySettings } from '../../utils/notify-settings';

export function NotificationSettings() {
  const [settings, setSettings] = useState<NotifySettings | null>(null);
  useEffect(() => {
    void notifySettingsItem.getValue().then((v) => setSettings(withDefaults(v)));
    return notifySettingsItem.watch((v) => setSettings(withDefaults(v)));
  }, []);
  const toggle = async (kind: NotifyKind, on: boolean) => {
    const next = { ...withDefaults(await notifySettingsItem.getValue()), [kind]: on };
    await notifySettingsItem.setValue(next);
    setSettings(next);
  };
  const group = (title: string, kinds: readonly NotifyKind[]) => (
    <fieldset class="notify-group">
      <legend>{title}</legend>
      {kinds.map((kind) => (
        <label key={kind} class="inline">
          <input
            type="checkbox"
            data-testid={`al-notify-${kind}`}
            checked={settings?.[kind] ?? true}
            disabled={!settings}
            onChange={(e) => void toggle(kind, (e.target as HTMLInputElement).checked)}
          />
          <span>{t(`options.notify.${kind}`)}</span>
        </label>
      ))}
    </fieldset>
  );
  return (
    <section class="card" aria-labelledby="notify-title" data-testid="al-notify-settings">
      <h2 id="notify-title">{t('options.notifications')}</h2>
      <p class="muted">{t('options.notificationsHint')}</p>
      {group(
        t('options.forRequests'),
        NOTIFY_KINDS.filter((k) => !APPROVER_KINDS.includes(k)),
      )}
      {group(t('options.forApprovals'), APPROVER_KINDS)}
    </section>
  );
}

interface DelegationsAnswer {
  delegations: Delegation[];
  meId: string;
  people: PersonRef[];
}

/** YYYY-MM-DD of a local date. */
const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
/** A local calendar day's start as an instant. */
const startOf = (value: string) => {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y!, m! - 1, d!);
};

export function OutOfOffice() {
  const [data, setData] = useState<DelegationsAnswer | null>(null);
  const [delegateId, setDelegateId] = useState('');
  const [from, setFrom] = useState(day(new Date()));
  const [until, setUntil] = useState(day(new Date(Date.now() + 7 * 86_400_000)));
  const [note, setNote] = useState('');
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const delegateField = useRef<HTMLSelectElement>(null);
  const untilField = useRef<HTMLInputElement>(null);

  const load = async () => {
    const result = await ask<DelegationsAnswer>({ type: 'delegations.list' });
    if (result.ok) setData(result);
    else setError(result.error);
  };
  useEffect(() => {
    void load();
  }, []);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!delegateId) {
      setError({ message: t('options.delegateRequired'), field: 'delegateId' });
      delegateField.current?.focus();
      return;
    }
    if (!from || !until) {
      setError({ message: t('options.datesRequired'), field: 'endsAt' });
      untilField.current?.focus();
      return;
    }
    // From the chosen day's start (today's: in force at once) to the end of the last day.
    const startsAt = startOf(from);
    const endsAt = new Date(startOf(until).getTime() + 86_400_000);
    setBusy(true);
    setError(null);
    const result = await ask<DelegationsAnswer>({
      type: 'delegations.create',
      delegateId,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
      note: note.trim(),
    });
    setBusy(false);
    if (!result.ok) {
      setError(result.error);
      if (result.error.field === 'endsAt' || result.error.field === 'startsAt') untilField.current?.focus();
      else if (result.error.field === 'delegateId') delegateField.current?.focus();
      return;
    }
    setData(result);
    setNote('');
  };

  const end = async (id: string) => {
    setBusy(true);
    const result = await ask<DelegationsAnswer>({ type: 'delegations.end', id });
    setBusy(false);
    if (result.ok) setData(result);
    else setError(result.error);
  };

  const nameOf = (id: string) => data?.people.find((p) => p.id === id)?.name ?? id;
  const current = (data?.delegations ?? []).filter((d) => d.endedAt === null && Date.parse(d.endsAt) > Date.now());
  const mine = current.filter((d) => d.personId === data?.meId);
  const forMe = current.filter((d) => d.delegateId === data?.meId);

  return (
    <section class="card" aria-labelledby="ooo-title" data-testid="al-delegation">
      <h2 id="ooo-title">{t('options.delegation')}</h2>
      <p class="muted">{t('options.delegationHint')}</p>
      {!data && !error && <p class="muted">{t('options.delegationLoading')}</p>}
      {data && mine.length === 0 && (
        <p class="muted" data-testid="al-delegation-none">
          {t('options.delegationNone')}
        </p>
      )}
      <ul class="plain">
        {mine.map((d) => (
          <li key={d.id} data-testid="al-delegation-item" data-delegation-id={d.id} data-active={String(d.active)}>
            {d.active
              ? t('options.delegationActive', { name: nameOf(d.delegateId), date: formatDate(d.endsAt) })
              : t('options.delegationPlanned', { name: nameOf(d.delegateId), from: formatDate(d.startsAt), until: formatDate(d.endsAt) })}{' '}
            <button type="button" class="link" data-testid="al-delegation-end" disabled={busy} onClick={() => void end(d.id)}>
              {t('options.delegationEnd')}
            </button>
          </li>
        ))}
        {forMe.map((d) => (
          <li key={d.id} data-testid="al-delegation-for-me">
            {t('options.delegationFor', { name: nameOf(d.personId), date: formatDate(d.endsAt) })}
          </li>
        ))}
      </ul>
      {data && (
        <form onSubmit={(e) => void save(e)} noValidate>
          <label class="field">
            <span>{t('options.delegate')}</span>
            <select
              ref={delegateField}
              data-testid="al-delegate"
              value={delegateId}
              aria-invalid={error?.field === 'delegateId'}
              onChange={(e) => setDelegateId((e.target as HTMLSelectElement).value)}
            >
              <option value="">{t('options.delegateChoose')}</option>
              {data.people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                  {p.title ? ` · ${p.title}` : ''}
                </option>
              ))}
            </select>
          </label>
          <div class="inline">
            <label class="field">
              <span>{t('options.from')}</span>
              <input type="date" data-testid="al-delegation-from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </label>
            <label class="field">
              <span>{t('options.until')}</span>
              <input
                ref={untilField}
                type="date"
                data-testid="al-delegation-until"
                value={until}
                aria-invalid={error?.field === 'endsAt'}
                onInput={(e) => setUntil((e.target as HTMLInputElement).value)}
              />
            </label>
          </div>
          <label class="field">
            <span>{t('options.note')}</span>
            <input type="text" data-testid="al-delegation-note" maxLength={300} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="button button--primary" data-testid="al-delegation-save" disabled={busy}>
            {t('options.delegationSave')}
          </button>
        </form>
      )}
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error.message}
        </p>
      )}
    </section>
  );
}
