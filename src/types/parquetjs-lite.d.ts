declare module "parquetjs-lite"
