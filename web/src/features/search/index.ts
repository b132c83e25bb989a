export { searchKeys } from "./api/search";
export { SearchBox } from "./components/SearchBox";
export { SearchPage } from "./components/SearchPage";
