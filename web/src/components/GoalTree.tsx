import { useVirtualizer } from '@tanstack/react-virtual';
import { ChevronDown, ChevronRight, Circle, FolderTree } from 'lucide-react';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { TIndexedTree } from '../lib/tree';
import { initialExpanded, newlyExpandable, visibleRows } from '../lib/tree';
import { plural, reasonOf } from '../lib/format';
import { StatusBadge, cx } from './ui';

const ROW_HEIGHT = 40;

/**
 * The goal tree as an ARIA tree with one tab stop: arrow keys move, Right/Left
 * open and close, Enter selects. Rows are virtualised, so a 10,000-goal tree
 * renders only what is on screen; big trees open with their subtrees collapsed
 * (each collapsed goal says how many goals it holds).
 */
export function GoalTree({ tree, selectedId, onSelect, label }: { tree: TIndexedTree; selectedId: string | null; onSelect: (id: string) => void; label: string }) {
  const [expanded, setExpanded] = useState<Set<string>>(() => initialExpanded(tree));
  const rows = useMemo(() => visibleRows(tree.root, expanded), [tree, expanded]);
  const [activeId, setActiveId] = useState<string>(selectedId ?? tree.root.id);
  const active = Math.max(0, rows.findIndex((r) => r.node.id === activeId));
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });

  // A goal that gains children after the tree was first shown (a run's tree is written level by level, and a
  // page opened meanwhile shows its root alone) opens as it would have at first; one the user closed stays closed.
  const considered = useRef<Set<string>>(new Set(expanded));
  useEffect(() => {
    const fresh = newlyExpandable(tree, considered.current);
    if (fresh.length) setExpanded((prev) => new Set([...prev, ...fresh]));
  }, [tree]);

  // A goal selected elsewhere (the URL, a link in the details) is shown: its ancestors open.
  useEffect(() => {
    if (!selectedId || !tree.byId.has(selectedId)) return;
    setActiveId(selectedId);
    setExpanded((prev) => {
      let next: Set<string> | null = null;
      for (let p = tree.parentOf.get(selectedId); p; p = tree.parentOf.get(p.id)) {
        if (!prev.has(p.id)) (next ??= new Set(prev)).add(p.id);
      }
      return next ?? prev;
    });
  }, [selectedId, tree]);

  const toggle = (id: string, open?: boolean) =>
    setExpanded((prev) => {
      const next = new Set(prev);
      if (open ?? !prev.has(id)) next.add(id);
      else next.delete(id);
      return next;
    });

  const moveTo = (index: number) => {
    const row = rows[Math.min(rows.length - 1, Math.max(0, index))];
    if (!row) return;
    setActiveId(row.node.id);
    virtualizer.scrollToIndex(rows.indexOf(row), { align: 'auto' });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const row = rows[active];
    if (!row) return;
    const hasKids = row.node.children.length > 0;
    switch (e.key) {
      case 'ArrowDown':
        moveTo(active + 1);
        break;
      case 'ArrowUp':
        moveTo(active - 1);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rows.length - 1);
        break;
      case 'ArrowRight':
        if (hasKids && !expanded.has(row.node.id)) toggle(row.node.id, true);
        else if (hasKids) moveTo(active + 1);
        break;
      case 'ArrowLeft':
        if (hasKids && expanded.has(row.node.id)) toggle(row.node.id, false);
        else {
          const parent = tree.parentOf.get(row.node.id);
          if (parent) moveTo(rows.findIndex((r) => r.node.id === parent.id));
        }
        break;
      case 'Enter':
      case ' ':
        onSelect(row.node.id);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  return (
    <div
      ref={scrollRef}
      role="tree"
      aria-label={label}
      tabIndex={0}
      aria-activedescendant={rows[active] ? `treeitem-${rows[active].node.id}` : undefined}
      onKeyDown={onKeyDown}
      className="relative max-h-[68vh] min-h-48 overflow-auto rounded-b-xl focus-visible:outline-offset-[-2px]"
    >
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          const node = row.node;
          const hasKids = node.children.length > 0 || node.child_count > 0;
          const isOpen = expanded.has(node.id);
          const hidden = tree.descendants.get(node.id) ?? 0;
          const cut = node.child_count > node.children.length;
          return (
            <div
              key={node.id}
              id={`treeitem-${node.id}`}
              role="treeitem"
              aria-level={row.level}
              aria-posinset={row.pos}
              aria-setsize={row.size}
              aria-expanded={hasKids ? isOpen : undefined}
              aria-selected={node.id === selectedId}
              data-goal-id={node.id}
              onClick={() => {
                setActiveId(node.id);
                onSelect(node.id);
              }}
              style={{ position: 'absolute', top: 0, left: 0, right: 0, height: item.size, transform: `translateY(${item.start}px)`, paddingLeft: 8 + (row.level - 1) * 20 }}
              className={cx(
                'flex cursor-pointer items-center gap-2 border-b border-zinc-100 pr-3 text-sm dark:border-zinc-800/70',
                node.id === selectedId ? 'bg-indigo-50 dark:bg-indigo-950/60' : 'hover:bg-zinc-50 dark:hover:bg-zinc-800/40',
                item.index === active && 'ring-2 ring-indigo-500 ring-inset',
              )}
            >
              {hasKids ? (
                <span
                  aria-hidden
                  onClick={(e) => {
                    e.stopPropagation();
                    toggle(node.id);
                  }}
                  className="grid size-5 place-items-center rounded text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700"
                >
                  {isOpen ? <ChevronDown className="size-4" /> : <ChevronRight className="size-4" />}
                </span>
              ) : (
                <span aria-hidden className="grid size-5 place-items-center text-zinc-300 dark:text-zinc-600">
                  <Circle className="size-2" />
                </span>
              )}
              {node.kind === 'composite' && <FolderTree className="size-4 shrink-0 text-zinc-400" aria-hidden />}
              <span className="min-w-16 flex-1 truncate" title={node.title}>
                {node.title}
              </span>
              {hasKids && !isOpen && (
                <span className="text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">
                  {plural(Math.max(hidden, node.child_count), 'goal')}
                  {cut ? '+' : ''}
                </span>
              )}
              {/* At most half the row: the title keeps the rest, the reason is cut (in full on hover and in the details). */}
              <span className="flex max-w-[50%] min-w-0 shrink-0 justify-end">
                <StatusBadge status={node.lifecycle} detail={reasonOf(node)} />
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
