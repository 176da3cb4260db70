import * as Dialog from '@radix-ui/react-dialog';
import { AlertTriangle, Loader2, X } from 'lucide-react';
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, TextareaHTMLAttributes } from 'react';
import { Link } from 'react-router';
import { describeError, type TLifecycle } from '../lib/api';
import { local, utc } from '../lib/format';

export function cx(...classes: (string | false | null | undefined)[]): string {
  return classes.filter(Boolean).join(' ');
}

/** A time in UTC; the viewer's local time on hover (the same everywhere). */
export function Time({ iso, className }: { iso: string | null | undefined; className?: string }) {
  if (!iso) return <span className="text-zinc-400">—</span>;
  return (
    <time dateTime={iso} title={local(iso)} className={cx('whitespace-nowrap tabular-nums', className)}>
      {utc(iso)}
    </time>
  );
}

const lifecycleStyle: Record<TLifecycle, string> = {
  draft: 'bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-600',
  active: 'bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-700',
  blocked: 'bg-amber-50 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-700',
  done: 'bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-700',
  failed: 'bg-rose-50 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-700',
  cancelled: 'bg-zinc-100 text-zinc-600 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-400 dark:ring-zinc-600',
};

export type TStatusWord = TLifecycle | 'pending' | 'running' | 'skipped';

const statusAlias: Record<TStatusWord, TLifecycle> = {
  draft: 'draft', active: 'active', blocked: 'blocked', done: 'done', failed: 'failed', cancelled: 'cancelled',
  pending: 'draft', running: 'active', skipped: 'cancelled',
};

export function StatusBadge({ status, detail }: { status: TStatusWord; detail?: string | null }) {
  const style = lifecycleStyle[statusAlias[status]];
  return (
    <span className={cx('inline-flex max-w-full min-w-0 items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap', style)}>
      {(status === 'active' || status === 'running') && <span className="size-1.5 rounded-full bg-sky-500 motion-safe:animate-pulse" aria-hidden />}
      {status}
      {detail ? (
        <>
          {' '}
          <span className="min-w-0 truncate font-normal opacity-80" title={detail}>
            · {detail}
          </span>
        </>
      ) : null}
    </span>
  );
}

export function Pill({ children, tone = 'zinc', title }: { children: ReactNode; tone?: 'zinc' | 'amber' | 'indigo' | 'emerald'; title?: string }) {
  const tones = {
    zinc: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
    amber: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
    indigo: 'bg-indigo-50 text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200',
    emerald: 'bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200',
  };
  return (
    <span title={title} className={cx('inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 text-xs font-medium whitespace-nowrap', tones[tone])}>
      {children}
    </span>
  );
}

type TButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger' | 'ghost'; busy?: boolean };

export const buttonClass = (variant: TButtonProps['variant'] = 'secondary') =>
  cx(
    'inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium shadow-xs transition-colors disabled:cursor-not-allowed disabled:opacity-50',
    variant === 'primary' && 'bg-indigo-600 text-white hover:bg-indigo-500 dark:bg-indigo-500 dark:hover:bg-indigo-400',
    variant === 'secondary' && 'bg-white text-zinc-900 ring-1 ring-inset ring-zinc-300 hover:bg-zinc-50 dark:bg-zinc-800 dark:text-zinc-100 dark:ring-zinc-600 dark:hover:bg-zinc-700',
    variant === 'danger' && 'bg-white text-rose-700 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 dark:bg-zinc-800 dark:text-rose-300 dark:ring-rose-800 dark:hover:bg-rose-950',
    variant === 'ghost' && 'text-zinc-700 shadow-none hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800',
  );

export function Button({ variant, busy, className, children, disabled, ...rest }: TButtonProps) {
  return (
    <button type="button" {...rest} disabled={disabled || busy} className={cx(buttonClass(variant), className)}>
      {busy && <Loader2 className="size-4 animate-spin" aria-hidden />}
      {children}
    </button>
  );
}

export function Card({ title, actions, children, className, id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  return (
    <section aria-labelledby={id && title ? `${id}-title` : undefined} className={cx('min-w-0 overflow-x-auto rounded-xl border border-zinc-200 bg-white shadow-xs dark:border-zinc-800 dark:bg-zinc-900', className)}>
      {(title || actions) && (
        <div className="flex items-center justify-between gap-3 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
          {title && (
            <h2 id={id ? `${id}-title` : undefined} className="min-w-0 text-sm font-semibold break-words text-zinc-900 dark:text-zinc-100">
              {title}
            </h2>
          )}
          {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function PageHeader({ title, eyebrow, badges, actions, children }: { title: ReactNode; eyebrow?: ReactNode; badges?: ReactNode; actions?: ReactNode; children?: ReactNode }) {
  return (
    <header className="mb-6 flex flex-wrap items-start justify-between gap-4">
      {/* At least 16rem (or the whole width) before the actions take room beside it: on a phone they wrap below. */}
      <div className="min-w-0 flex-[1_1_16rem]">
        {eyebrow && <div className="mb-1 text-xs font-medium tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{eyebrow}</div>}
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="min-w-0 text-2xl font-semibold tracking-tight break-words">{title}</h1>
          {badges}
        </div>
        {children && <div className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{children}</div>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </header>
  );
}

export function ErrorNote({ error, className }: { error: unknown; className?: string }) {
  if (!error) return null;
  return (
    <div role="alert" className={cx('flex items-start gap-2 rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-sm text-rose-900 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-100', className)}>
      <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
      <span>{typeof error === 'string' ? error : describeError(error)}</span>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div role="status" className="flex items-center gap-2 p-6 text-sm text-zinc-500 dark:text-zinc-400">
      <Loader2 className="size-4 animate-spin" aria-hidden /> Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="px-4 py-10 text-center text-sm text-zinc-500 dark:text-zinc-400">{children}</div>;
}

export function TextLink({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <Link to={to} className={cx('font-medium [overflow-wrap:anywhere] text-indigo-700 hover:underline dark:text-indigo-300', className)}>
      {children}
    </Link>
  );
}

export function ExternalLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a href={href} target="_blank" rel="noreferrer" className="font-medium text-indigo-700 hover:underline dark:text-indigo-300">
      {children}
      <span className="sr-only"> (opens in a new tab)</span>
    </a>
  );
}

export const inputClass =
  'block w-full rounded-md border-0 bg-white px-2.5 py-1.5 text-sm text-zinc-900 ring-1 ring-inset ring-zinc-300 placeholder:text-zinc-400 focus:ring-2 focus:ring-indigo-500 dark:bg-zinc-950 dark:text-zinc-100 dark:ring-zinc-700';

/** The id a control's `aria-describedby` names: its error when it has one, else its hint. */
function describedBy(id: string, hint: ReactNode, error: string | undefined): string | undefined {
  return error ? `${id}-error` : hint ? `${id}-hint` : undefined;
}

interface TFieldFrame {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  /** The API's (or the form's) problem with this field: shown under it in place of the hint, and announced with it. */
  error?: string;
  /** Marks the label "(required)". */
  required?: boolean;
}

/**
 * A label, a control, and under it its hint or its error: every form's
 * fields look and read alike. `children` is the control (id = `id`); the
 * text controls below wire `aria-invalid` and `aria-describedby` themselves,
 * a custom control passes them with `fieldAria`.
 */
export function Field({ label, hint, error, required, children, id }: TFieldFrame & { children: ReactNode }) {
  return (
    <div className="min-w-0">
      <label htmlFor={id} className="mb-1 block text-sm font-medium break-words text-zinc-800 dark:text-zinc-200">
        {label}
        {required && <span className="font-normal text-rose-700 dark:text-rose-300"> (required)</span>}
      </label>
      {children}
      {hint && !error && (
        <p id={`${id}-hint`} className="mt-1 text-xs break-words text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="mt-1 text-xs font-medium break-words text-rose-700 dark:text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}

/** The ARIA a field's control carries: invalid with an error, described by the error or the hint. */
export function fieldAria({ id, hint, error }: Pick<TFieldFrame, 'id' | 'hint' | 'error'>) {
  return { 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy(id, hint, error) };
}

/** A one-line text field: label, input, hint or error. */
export function TextField({ id, label, hint, error, required, className, ...input }: TFieldFrame & Omit<InputHTMLAttributes<HTMLInputElement>, 'id'>) {
  return (
    <Field id={id} label={label} hint={hint} error={error} required={required}>
      <input id={id} required={required} className={cx(inputClass, className)} {...fieldAria({ id, hint, error })} {...input} />
    </Field>
  );
}

/** A multi-line text field: label, textarea, hint or error. */
export function TextAreaField({ id, label, hint, error, required, className, ...area }: TFieldFrame & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'>) {
  return (
    <Field id={id} label={label} hint={hint} error={error} required={required}>
      <textarea id={id} required={required} className={cx(inputClass, className)} {...fieldAria({ id, hint, error })} {...area} />
    </Field>
  );
}

/** Focus the dialog's first field rather than its close button: what a person opening a form means to do first. */
function focusFirstField(event: Event): void {
  const content = event.currentTarget as HTMLElement | null;
  // Not yet moved: what opened the dialog, to return to when it closes.
  if (content) openers.set(content, document.activeElement instanceof HTMLElement ? document.activeElement : null);
  const field = content?.querySelector<HTMLElement>('input:not([type=hidden]):not([readonly]):not([disabled]), textarea:not([readonly]), select');
  if (field) {
    event.preventDefault();
    field.focus();
  }
}

/** The element focused when each open dialog opened (our dialogs are opened by state, not by a Radix trigger that Radix would return to). */
const openers = new WeakMap<object, HTMLElement | null>();

/** Back to what opened the dialog (the button), not the page's body, when it closes. */
function returnFocus(event: Event): void {
  const opener = openers.get(event.currentTarget as object);
  if (opener?.isConnected) {
    event.preventDefault();
    opener.focus();
  }
}

export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
  wide,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  wide?: boolean;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-zinc-950/50 backdrop-blur-[1px]" />
        <Dialog.Content
          className={cx(
            'fixed top-[6vh] left-1/2 z-50 max-h-[88vh] w-[calc(100vw-2rem)] -translate-x-1/2 overflow-y-auto rounded-xl border border-zinc-200 bg-white p-5 shadow-xl dark:border-zinc-700 dark:bg-zinc-900',
            wide ? 'max-w-3xl' : 'max-w-lg',
          )}
          onOpenAutoFocus={focusFirstField}
          onCloseAutoFocus={returnFocus}
        >
          <div className="mb-4 flex items-start justify-between gap-4">
            <div className="min-w-0">
              <Dialog.Title className="text-lg font-semibold break-words">{title}</Dialog.Title>
              {description ? (
                <Dialog.Description className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{description}</Dialog.Description>
              ) : (
                <Dialog.Description className="sr-only">{title}</Dialog.Description>
              )}
            </div>
            <Dialog.Close className={buttonClass('ghost')} aria-label="Close">
              <X className="size-4" aria-hidden />
            </Dialog.Close>
          </div>
          {children}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

export function DescriptionList({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[minmax(6rem,max-content)_minmax(0,1fr)] gap-x-4 gap-y-2 text-sm">
      {items.map(([k, v], i) => (
        <div key={i} className="contents">
          <dt className="text-zinc-500 dark:text-zinc-400">{k}</dt>
          <dd className="min-w-0 break-words">{v}</dd>
        </div>
      ))}
    </dl>
  );
}
