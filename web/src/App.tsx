import { useQueryClient } from '@tanstack/react-query';
import { BookOpen, CalendarClock, ListTree, LogOut } from 'lucide-react';
import { useEffect, useRef } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router';
import { buttonClass, cx, TextLink } from './components/ui';
import { signOut, useToken } from './lib/auth';
import { GoalPage } from './pages/GoalPage';
import { GoalsPage } from './pages/GoalsPage';
import { RunPage } from './pages/RunPage';
import { SchedulesPage } from './pages/SchedulesPage';
import { SignInPage } from './pages/SignInPage';
import { WorkflowPage } from './pages/WorkflowPage';

export function App() {
  const token = useToken();
  const queryClient = useQueryClient();
  // A new or forgotten token: nothing cached under the previous one may show (not on mount: that
  // would drop the first page's queries while they load).
  const previous = useRef(token);
  useEffect(() => {
    if (previous.current !== token) queryClient.clear();
    previous.current = token;
  }, [token, queryClient]);
  if (!token) return <SignInPage />;
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-zinc-900">
        Skip to content
      </a>
      <Header />
      <main id="main" className="mx-auto max-w-7xl px-4 py-8 sm:px-6">
        <Routes>
          <Route path="/" element={<GoalsPage />} />
          <Route path="/goals/:id" element={<GoalPage />} />
          <Route path="/workflows/:id" element={<WorkflowPage />} />
          <Route path="/runs/:id" element={<RunPage />} />
          <Route path="/schedules" element={<SchedulesPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}

function Header() {
  const location = useLocation();
  const navClass = ({ isActive }: { isActive: boolean }) =>
    cx(
      'inline-flex items-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium',
      isActive ? 'bg-zinc-100 text-zinc-900 dark:bg-zinc-800 dark:text-zinc-50' : 'text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100',
    );
  const onGoals = location.pathname === '/' || location.pathname.startsWith('/goals') || location.pathname.startsWith('/workflows') || location.pathname.startsWith('/runs');
  return (
    <header className="border-b border-zinc-200 bg-white/80 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/80">
      <div className="mx-auto flex min-h-14 max-w-7xl flex-wrap items-center gap-x-6 gap-y-1 px-4 py-2 sm:px-6">
        <NavLink to="/" className="flex items-center gap-2 font-semibold tracking-tight">
          <span className="grid size-7 place-items-center rounded-md bg-indigo-600 text-sm text-white" aria-hidden>
            R
          </span>
          Reprise
        </NavLink>
        <nav aria-label="Main" className="flex items-center gap-1">
          <NavLink to="/" className={({ isActive }) => navClass({ isActive: isActive || onGoals })} end>
            <ListTree className="size-4" aria-hidden />
            <span>
              Goals<span className="max-sm:sr-only"> &amp; workflows</span>
            </span>
          </NavLink>
          <NavLink to="/schedules" className={navClass}>
            <CalendarClock className="size-4" aria-hidden /> Schedules
          </NavLink>
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <a href="/api/docs" className={buttonClass('ghost')}>
            <BookOpen className="size-4" aria-hidden /> <span className="max-sm:sr-only">API reference</span>
          </a>
          <button type="button" className={buttonClass('ghost')} onClick={() => signOut()}>
            <LogOut className="size-4" aria-hidden /> <span className="max-sm:sr-only">Sign out</span>
          </button>
        </div>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <div className="py-20 text-center">
      <h1 className="text-2xl font-semibold">Nothing here</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
        This address is not a page of Reprise. <TextLink to="/">Go to the goals overview</TextLink>.
      </p>
    </div>
  );
}
