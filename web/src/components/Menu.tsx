/**
 * A dropdown menu: a trigger button and its items. Radix's menu (with its positioning and focus
 * machinery, a fifth of the app's first download) loads after the first paint, or as soon as a
 * trigger is pointed at, focused or pressed: until then the trigger is the same button, and a
 * press on it opens the menu once its code is here.
 */
import {
  Children,
  cloneElement,
  createContext,
  isValidElement,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type ButtonHTMLAttributes,
  type KeyboardEvent,
  type PointerEvent,
  type ReactElement,
  type ReactNode,
} from "react";

type Radix = typeof import("./MenuRadix");

let radix: Radix | null = null;
let loading: Promise<Radix> | null = null;
/** The menus on the page waiting for the code. */
const waiting = new Set<(loaded: Radix) => void>();

function loadRadix(): void {
  loading ??= import("./MenuRadix").then((m) => {
    radix = m;
    for (const ready of waiting) ready(m);
    waiting.clear();
    return m;
  });
}

let scheduled = false;

/** Fetch the menu's code once the page has painted and the browser is idle. */
function loadAfterFirstPaint(): void {
  if (scheduled || radix) return;
  scheduled = true;
  const idle = () => {
    if (typeof requestIdleCallback === "function") requestIdleCallback(loadRadix, { timeout: 2000 });
    else setTimeout(loadRadix, 200);
  };
  if (typeof PerformanceObserver !== "undefined" && PerformanceObserver.supportedEntryTypes?.includes("paint")) {
    const observer = new PerformanceObserver((list) => {
      if (list.getEntriesByName("first-contentful-paint").length === 0) return;
      observer.disconnect();
      idle();
    });
    observer.observe({ type: "paint", buffered: true });
  } else {
    idle();
  }
}

interface MenuState {
  radix: Radix | null;
  load: (open: boolean) => void;
  /** The stand-in trigger, to give the focus back to the real one when it takes its place. */
  standIn: React.MutableRefObject<HTMLElement | null>;
  refocus: React.MutableRefObject<boolean>;
  /** Pressed before the code was here: Radix opens it and moves the focus into it itself. */
  openAtLoad: boolean;
}

const MenuContext = createContext<MenuState | null>(null);

function useMenu(): MenuState {
  const menu = useContext(MenuContext);
  if (!menu) throw new Error("a menu part outside <Menu>");
  return menu;
}

/** Radix's parts, once loaded (items only render inside an open menu, so after the load). */
function useRadix(): Radix {
  const loaded = useMenu().radix;
  if (!loaded) throw new Error("a menu item rendered before the menu's code loaded");
  return loaded;
}

export function Menu({ children }: { children: ReactNode }) {
  const [loaded, setLoaded] = useState<Radix | null>(radix);
  const [openAtLoad, setOpenAtLoad] = useState(false);
  const standIn = useRef<HTMLElement | null>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (loaded) return;
    const ready = (m: Radix) => {
      refocus.current = !!standIn.current && document.activeElement === standIn.current;
      setLoaded(m);
    };
    if (radix) return ready(radix);
    waiting.add(ready);
    loadAfterFirstPaint();
    return () => {
      waiting.delete(ready);
    };
  }, [loaded]);
  const load = (open: boolean) => {
    if (open) setOpenAtLoad(true);
    loadRadix();
  };
  const state: MenuState = { radix: loaded, load, standIn, refocus, openAtLoad };
  return (
    <MenuContext.Provider value={state}>
      {loaded ? <loaded.Root defaultOpen={openAtLoad}>{children}</loaded.Root> : children}
    </MenuContext.Provider>
  );
}

const OPENING_KEYS = new Set(["Enter", " ", "ArrowDown"]);

type TriggerProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  /** The one child element (the app's Button) is the button, as Radix's `asChild` takes it. */
  asChild?: boolean;
  children: ReactNode;
};

/** The menu's button: a button of its own with these props, or (asChild) the child element. */
export function MenuTrigger({ asChild = false, children, ...props }: TriggerProps) {
  const menu = useMenu();
  const real = useRef<HTMLButtonElement | null>(null);
  // Before anything else happens (a key pressed meanwhile would find no focus).
  useLayoutEffect(() => {
    if (menu.radix && menu.refocus.current) {
      menu.refocus.current = false;
      // (An opening menu takes the focus: given to the button, it would close at once.)
      if (!menu.openAtLoad) real.current?.focus();
    }
  }, [menu.radix, menu.refocus, menu.openAtLoad]);
  if (menu.radix) {
    return (
      <menu.radix.Trigger asChild={asChild} ref={real} {...props}>
        {children}
      </menu.radix.Trigger>
    );
  }
  const standIn = {
    "aria-haspopup": "menu" as const,
    "aria-expanded": false,
    "data-state": "closed",
    onPointerEnter: () => menu.load(false),
    onFocus: () => menu.load(false),
    onPointerDown: (event: PointerEvent) => {
      if (event.button === 0) menu.load(true);
    },
    onKeyDown: (event: KeyboardEvent) => {
      if (!OPENING_KEYS.has(event.key)) return;
      event.preventDefault();
      menu.load(true);
    },
  };
  if (!asChild) {
    return (
      <button type="button" {...props} {...standIn} ref={menu.standIn as React.Ref<HTMLButtonElement>}>
        {children}
      </button>
    );
  }
  const child = Children.only(children);
  if (!isValidElement(child)) return child;
  return cloneElement(child as ReactElement<Record<string, unknown>>, { ...standIn, ref: menu.standIn });
}

export function MenuContent({ children, label }: { children: ReactNode; label?: string }) {
  const loaded = useMenu().radix;
  return loaded ? <loaded.Content label={label}>{children}</loaded.Content> : null;
}

export function MenuItem(props: React.ComponentProps<Radix["Item"]>) {
  const { Item } = useRadix();
  return <Item {...props} />;
}

export function MenuRadioGroup(props: React.ComponentProps<Radix["RadioGroup"]>) {
  const { RadioGroup } = useRadix();
  return <RadioGroup {...props} />;
}

export function MenuRadioItem(props: React.ComponentProps<Radix["RadioItem"]>) {
  const { RadioItem } = useRadix();
  return <RadioItem {...props} />;
}

export function MenuItemIndicator(props: React.ComponentProps<Radix["ItemIndicator"]>) {
  const { ItemIndicator } = useRadix();
  return <ItemIndicator {...props} />;
}

export function MenuLabel({ children }: { children: ReactNode }) {
  const { Label } = useRadix();
  return <Label>{children}</Label>;
}

export function MenuSeparator() {
  const { Separator } = useRadix();
  return <Separator />;
}
