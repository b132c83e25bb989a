/** Uploads: many files at once, each with its bytes sent and then the pipeline's progress. */
export { UploadPage } from "./components/UploadPage";
