import { lazy } from "react";

export { searchKeys } from "./api/search";
export { SearchBox } from "./components/SearchBox";

export const SearchPage = lazy(() => import("./components/SearchPage").then((m) => ({ default: m.SearchPage })));
